# pulsar-ami: the Pulsar base image.
#
# Amazon Linux 2023 (the newest, from AWS's public SSM parameter for the architecture),
# Amazon Corretto 17, Apache Pulsar var.pulsar_version verified against its published
# .sha512 before it is unpacked, OpenMessaging Benchmark at a pinned commit, and the
# systemd templates for zookeeper, bookkeeper and broker under /opt/pulsar-templates/systemd.
#
# Run from this folder (the buildspec does `cd packer`): paths below are relative to it.
#
#   packer init . && packer validate . && packer build .
#
# The build instance is reached through SSM Session Manager only: with
# ssh_interface = "session_manager" and an instance profile, the amazon-ebs builder adds no
# SSH ingress rule to the temporary security group it creates (and uses the given group,
# which has no inbound rules, when var.security_group_id is set). No port is open.

packer {
  required_version = ">= 1.10.0"
  required_plugins {
    amazon = {
      source  = "github.com/hashicorp/amazon"
      version = "~> 1.3"
    }
  }
}

variable "pulsar_version" {
  type        = string
  description = "Apache Pulsar version to install, MAJOR.MINOR.PATCH."
  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.pulsar_version))
    error_message = "The pulsar_version must be MAJOR.MINOR.PATCH, e.g. 3.0.0."
  }
}

variable "instance_type" {
  type        = string
  default     = "t3.small"
  description = "Instance type of the build instance (must match var.architecture)."
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", var.instance_type))
    error_message = "The instance_type must look like t3.small."
  }
}

variable "architecture" {
  type        = string
  default     = "x86_64"
  description = "CPU architecture of the image: x86_64 or arm64."
  validation {
    condition     = can(regex("^(x86_64|arm64)$", var.architecture))
    error_message = "The architecture must be x86_64 or arm64."
  }
}

variable "region" {
  type        = string
  default     = env("AWS_REGION")
  description = "Region the image is built in (CodeBuild sets AWS_REGION)."
  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", var.region))
    error_message = "The region must be an AWS region name such as us-west-2 (set AWS_REGION or PKR_VAR_region)."
  }
}

variable "archive_base_url" {
  type        = string
  default     = "https://archive.apache.org/dist"
  description = "Base URL of the Apache archive: <base>/pulsar/pulsar-V/apache-pulsar-V-bin.tar.gz(.sha512)."
  validation {
    condition     = can(regex("^https?://[^ ]+$", var.archive_base_url))
    error_message = "The archive_base_url must be an http(s) URL."
  }
}

variable "pulsar_sha512" {
  type        = string
  default     = ""
  description = "The published SHA-512 of the Pulsar tarball, as read by the buildspec (lower-case hex). The install script still verifies against the .sha512 it downloads and refuses a disagreement."
  validation {
    condition     = can(regex("^([0-9a-f]{128})?$", var.pulsar_sha512))
    error_message = "The pulsar_sha512 must be 128 lower-case hex digits (or empty)."
  }
}

variable "build_id" {
  type        = string
  default     = ""
  description = "The build's id (the BuildAmi execution name), tagged on the build instance and the image."
}

variable "build_execution_arn" {
  type        = string
  default     = ""
  description = "ARN of the BuildAmi execution, tagged on the build instance and the image."
}

variable "subnet_id" {
  type        = string
  default     = ""
  description = "Subnet of the build instance; empty for the default VPC's."
}

variable "security_group_id" {
  type        = string
  default     = ""
  description = "Security group (no inbound rules) for the build instance; empty lets Packer create a temporary one, which under Session Manager has no inbound rule either."
}

variable "iam_instance_profile" {
  type        = string
  description = "Instance profile of the build instance: lets the SSM agent open the Session Manager session."
  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,128}$", var.iam_instance_profile))
    error_message = "The iam_instance_profile must be an instance profile name."
  }
}

variable "root_volume_size" {
  type        = number
  default     = 20
  description = "Size of the gp3 root volume in GiB."
}

variable "omb_commit" {
  type        = string
  default     = "85599891321cafa2fb7065a63f009b4bb5374288"
  description = "OpenMessaging Benchmark commit (full 40-hex id) installed in the image."
  validation {
    condition     = can(regex("^[0-9a-f]{40}$", var.omb_commit))
    error_message = "The omb_commit must be a full 40-hex commit id."
  }
}

variable "omb_archive_base_url" {
  type        = string
  default     = "https://github.com/openmessaging/benchmark/archive"
  description = "Where the source archive of an OpenMessaging Benchmark commit is: <base>/<commit>.tar.gz."
  validation {
    condition     = can(regex("^https?://[^ ]+$", var.omb_archive_base_url))
    error_message = "The omb_archive_base_url must be an http(s) URL."
  }
}

variable "manifest_path" {
  type        = string
  default     = "packer-manifest.json"
  description = "File the manifest post-processor writes; the buildspec reads the AMI id from it."
}

# Newest Amazon Linux 2023 for the architecture, from AWS's public parameter.
data "amazon-parameterstore" "al2023" {
  name   = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${var.architecture}"
  region = var.region
}

locals {
  # One clock reading for the whole build: the name and BuildDate agree.
  build_time  = timestamp()
  ami_name    = "pulsar-base-${var.pulsar_version}-${formatdate("YYYYMMDDhhmmss", local.build_time)}"
  base_ami_id = data.amazon-parameterstore.al2023.value
}

source "amazon-ebs" "pulsar" {
  region        = var.region
  instance_type = var.instance_type
  source_ami    = local.base_ami_id

  ami_name        = local.ami_name
  ami_description = "Apache Pulsar ${var.pulsar_version} on Amazon Linux 2023 (${var.architecture}), built by pulsar-ami"
  imds_support    = "v2.0"

  # Session Manager only: no SSH port open anywhere.
  communicator         = "ssh"
  ssh_username         = "ec2-user"
  ssh_interface        = "session_manager"
  ssh_timeout          = "15m"
  iam_instance_profile = var.iam_instance_profile
  security_group_ids   = var.security_group_id == "" ? [] : [var.security_group_id]
  subnet_id            = var.subnet_id == "" ? null : var.subnet_id

  # An instance left behind by a crashed build stops itself for good.
  shutdown_behavior = "terminate"

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  launch_block_device_mappings {
    device_name           = "/dev/xvda"
    volume_type           = "gp3"
    volume_size           = var.root_volume_size
    encrypted             = true
    delete_on_termination = true
  }

  tags = {
    Name              = local.ami_name
    PulsarVersion     = var.pulsar_version
    BuildDate         = local.build_time
    ManagedBy         = "pulsar-ami"
    Project           = "pulsar-aws-lab"
    Environment       = "lab"
    BuildExecutionArn = var.build_execution_arn
    BuildId           = var.build_id
    BaseAmiId         = local.base_ami_id
    PulsarSha512      = var.pulsar_sha512
    PackerVersion     = packer.version
    Architecture      = var.architecture
  }

  snapshot_tags = {
    Name              = local.ami_name
    PulsarVersion     = var.pulsar_version
    BuildDate         = local.build_time
    ManagedBy         = "pulsar-ami"
    Project           = "pulsar-aws-lab"
    Environment       = "lab"
    BuildExecutionArn = var.build_execution_arn
    BuildId           = var.build_id
    BaseAmiId         = local.base_ami_id
    PulsarSha512      = var.pulsar_sha512
    PackerVersion     = packer.version
    Architecture      = var.architecture
  }

  run_tags = {
    Name              = "pulsar-ami-build-${var.pulsar_version}"
    ManagedBy         = "pulsar-ami"
    Purpose           = "AMI-Build"
    BuildExecutionArn = var.build_execution_arn
    BuildId           = var.build_id
  }

  run_volume_tags = {
    Name              = "pulsar-ami-build-${var.pulsar_version}"
    ManagedBy         = "pulsar-ami"
    Purpose           = "AMI-Build"
    BuildExecutionArn = var.build_execution_arn
    BuildId           = var.build_id
  }
}

build {
  name    = "pulsar-base"
  sources = ["source.amazon-ebs.pulsar"]

  # The systemd templates: the folder files/systemd is uploaded as /tmp/systemd
  # (no trailing slash on the source: the folder itself is created in the destination).
  provisioner "file" {
    source      = "files/systemd"
    destination = "/tmp"
  }

  provisioner "shell" {
    script          = "scripts/install-java.sh"
    execute_command = "chmod +x '{{ .Path }}'; {{ .Vars }} sudo -E bash -o pipefail '{{ .Path }}'"
  }

  provisioner "shell" {
    script = "scripts/install-pulsar.sh"
    environment_vars = [
      "PULSAR_VERSION=${var.pulsar_version}",
      "ARCHIVE_BASE_URL=${var.archive_base_url}",
      "PULSAR_SHA512=${var.pulsar_sha512}",
      "PULSAR_INSTALL_DIR=/opt/pulsar",
    ]
    execute_command = "chmod +x '{{ .Path }}'; {{ .Vars }} sudo -E bash -o pipefail '{{ .Path }}'"
  }

  provisioner "shell" {
    script = "scripts/install-omb.sh"
    environment_vars = [
      "OMB_COMMIT=${var.omb_commit}",
      "OMB_ARCHIVE_BASE_URL=${var.omb_archive_base_url}",
      "OMB_INSTALL_DIR=/opt/openmessaging-benchmark",
    ]
    execute_command = "chmod +x '{{ .Path }}'; {{ .Vars }} sudo -E bash -o pipefail '{{ .Path }}'"
  }

  provisioner "shell" {
    script = "scripts/install-templates.sh"
    environment_vars = [
      "TEMPLATES_UPLOAD_DIR=/tmp/systemd",
      "TEMPLATES_DIR=/opt/pulsar-templates/systemd",
    ]
    execute_command = "chmod +x '{{ .Path }}'; {{ .Vars }} sudo -E bash -o pipefail '{{ .Path }}'"
  }

  post-processor "manifest" {
    output     = var.manifest_path
    strip_path = true
    custom_data = {
      ami_name       = local.ami_name
      pulsar_version = var.pulsar_version
      architecture   = var.architecture
      base_ami_id    = local.base_ami_id
      build_id       = var.build_id
    }
  }
}
