/**
 * The content of the ValidationChecksDocument (AWS::SSM::Document, serverless.yml), made at
 * package time from packer/checks/run-checks.sh, which stays the one source of the checks.
 *
 * The script travels base64-encoded: nothing in it can be read as a serverless variable
 * (`${…}`), a CloudFormation substitution or an SSM parameter reference (`{{ … }}`), and it
 * reaches the instance byte for byte. The document's only parameter is the expected Pulsar
 * version, which SSM checks against `allowedPattern` before anything runs; the script gets
 * it as PULSAR_EXPECTED_VERSION and runs under bash, its exit status the command's.
 *
 * Loaded by serverless (`${file(...)}` of a .cjs file) and by the sandbox's serverless.yml
 * reader; the tests compare the embedded script with the file.
 */
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const SCRIPT_PATH = join(__dirname, '../../packer/checks/run-checks.sh');
const VERSION_PATTERN = '^\\d+\\.\\d+\\.\\d+$';
const EXECUTION_TIMEOUT_SECONDS = 600;

const script = readFileSync(SCRIPT_PATH);

module.exports = {
  schemaVersion: '2.2',
  description:
    'pulsar-ami: the image checks of packer/checks/run-checks.sh, one JSON line per check; exits 1 when a check fails',
  parameters: {
    version: {
      type: 'String',
      description: "The Pulsar version the image's PulsarVersion tag promises (MAJOR.MINOR.PATCH)",
      allowedPattern: VERSION_PATTERN,
    },
  },
  mainSteps: [
    {
      action: 'aws:runShellScript',
      name: 'runChecks',
      inputs: {
        timeoutSeconds: EXECUTION_TIMEOUT_SECONDS,
        runCommand: [
          'checks_file="$(mktemp /tmp/pulsar-ami-checks.XXXXXX)" || exit 2',
          `echo '${script.toString('base64')}' | base64 -d > "$checks_file" || exit 2`,
          `PULSAR_EXPECTED_VERSION='{{ version }}' bash "$checks_file" </dev/null`,
          'checks_status=$?',
          'rm -f "$checks_file"',
          'exit "$checks_status"',
        ],
      },
    },
  ],
};
