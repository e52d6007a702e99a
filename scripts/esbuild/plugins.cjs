/**
 * esbuild plugins for the Lambda bundles (serverless.yml custom.esbuild.plugins; the bundle
 * bench uses the same list).
 *
 * literalSchemaKeys: the AWS SDK's generated schema modules (`@aws-sdk/*` `dist-es/…/schemas/*.js`,
 * the clients' and the nested clients' of the credential chain) write trait objects with computed keys that name string constants,
 * `{ [_xN]: _EBx }` after `const _xN = "xmlName"`. esbuild cannot prove a computed key free of
 * side effects, so it keeps every schema of the service: all of EC2's, about 540 KiB, for the
 * handful of commands a function sends, and that is most of a cold start. The plugin rewrites
 * each such key to the string literal it names (`{ "xmlName": _EBx }`), which is the same
 * object, so esbuild drops the schemas no command uses. Keys that are not a module-level
 * string constant are left as they are.
 */
const { readFile } = require('node:fs/promises');

const SCHEMA_MODULE = /[\\/]@aws-sdk[\\/][^\\/]+[\\/]dist-es[\\/](?:.+[\\/])?schemas[\\/][^\\/]+\.js$/;
const STRING_CONSTANT = /^const (_\w+) = ("(?:[^"\\\n]|\\.)*");$/gm;
const COMPUTED_KEY = /([{,]\s*)\[(_\w+)\](\s*:)/g;

/** The schema module's source with computed keys of string constants made literal. */
function literalKeys(source) {
  const constants = new Map();
  for (const [, name, literal] of source.matchAll(STRING_CONSTANT)) constants.set(name, literal);
  return source.replace(COMPUTED_KEY, (whole, before, name, after) => {
    const literal = constants.get(name);
    return literal === undefined ? whole : `${before}${literal}${after}`;
  });
}

const literalSchemaKeys = {
  name: 'literal-schema-keys',
  setup(build) {
    build.onLoad({ filter: SCHEMA_MODULE }, async (args) => ({
      contents: literalKeys(await readFile(args.path, 'utf8')),
      loader: 'js',
    }));
  },
};

module.exports = [literalSchemaKeys];
module.exports.literalKeys = literalKeys;
