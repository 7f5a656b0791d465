# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: drs
short_description: DRS source servers as inventory hosts, grouped by wave
version_added: 0.1.0
description:
  - Lists the AWS Elastic Disaster Recovery source servers of the recovery region as hosts named by their match
    tag (default C(Name)), in groups C(wave_<n>) from the wave tag, with the variables the collection's
    playbooks expect (see docs/INVENTORY.md), that is C(drs_wave) on each host and C(drs_primary_region),
    C(drs_recovery_region), C(drs_protection_group) and C(drs_state_table_prefix) on C(all).
  - The configuration file must end with C(drs.yml) or C(drs.yaml).
author:
  - elasticdr maintainers (@elasticdr)
extends_documentation_fragment:
  - inventory_cache
  - constructed
  - amazon.aws.boto3
  - amazon.aws.common.plugins
  - amazon.aws.region.plugins
  - amazon.aws.assume_role.plugins
options:
  plugin:
    description: The name of this plugin.
    required: true
    choices: [elasticdr.orchestration.drs]
    type: str
  regions:
    description:
      - The recovery region, where DRS replicates the source servers (exactly one).
    type: list
    elements: str
    required: true
  protection_group:
    description: The protection group the hosts belong to (C(drs_protection_group)).
    type: str
    required: true
  primary_region:
    description:
      - The primary region (C(drs_primary_region)). Defaults to the origin region DRS recorded for the servers.
    type: str
  state_table_prefix:
    description: The prefix of the DynamoDB state tables (C(drs_state_table_prefix)).
    type: str
    default: drs-orchestration
  hostname_tag:
    description:
      - The source server tag that names each host (the match tag). Servers without it are named by the hostname
        DRS saw, or skipped with O(require_hostname_tag).
    type: str
    default: Name
  require_hostname_tag:
    description: Skip (with a warning) servers that lack O(hostname_tag).
    type: bool
    default: false
  wave_tag:
    description: The source server tag holding the wave number (C(drs_wave), groups C(wave_<n>)).
    type: str
    default: "drs:wave"
  default_wave:
    description: The wave of servers without O(wave_tag); omit to skip them with a warning.
    type: int
  replication_direction:
    description: Which source servers become hosts.
    type: str
    choices: [FAILOVER, FAILBACK]
    default: FAILOVER
  staging_account_ids:
    description: Only servers extended from these staging accounts.
    type: list
    elements: str
  external_id:
    description:
      - The ExternalId to assume O(assume_role_arn) with. It is not published as an inventory variable; give the
        playbooks the same value in C(DRS_EXTERNAL_ID) (environment) or C(drs_external_id) (vault, extra vars).
    type: str
  require_external_id:
    description: Refuse to assume O(assume_role_arn) without O(external_id).
    type: bool
    default: true
"""

EXAMPLES = r"""
# shop.drs.yml
plugin: elasticdr.orchestration.drs
regions: [us-west-2]
protection_group: shop
primary_region: us-east-1
assume_role_arn: arn:aws:iam::222222222222:role/DRSOrchestration
external_id: "{{ lookup('env', 'DRS_EXTERNAL_ID') }}"
compose:
  app_tier: drs_tags['drs:tier'] | default('none')
keyed_groups:
  - key: drs_tags['drs:tier'] | default('untiered')
    prefix: tier
"""

import re

try:
    import botocore
except ImportError:
    botocore = None

from ansible.errors import AnsibleError

from ansible_collections.amazon.aws.plugins.plugin_utils.inventory import AWSInventoryBase

_SANITISE = re.compile(r"[^A-Za-z0-9_.-]")


def _duration_seconds(value):
    match = re.fullmatch(r"PT(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?", value or "")
    if not match or not value or value == "PT":
        return None
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


class InventoryModule(AWSInventoryBase):
    NAME = "elasticdr.orchestration.drs"
    INVENTORY_FILE_SUFFIXES = ("drs.yml", "drs.yaml")

    def _freeze_iam_role(self, iam_role_arn):
        external_id = self.get_option("external_id")
        if self.get_option("require_external_id") and not external_id:
            raise AnsibleError(f"Assuming {iam_role_arn} needs external_id (the sts:ExternalId of the role's trust "
                               "policy); set require_external_id: false only for a role whose trust policy has none.")
        params = {"RoleArn": iam_role_arn, "RoleSessionName": self._get_role_session_name()}
        if external_id:
            params["ExternalId"] = external_id
        try:
            # STS needs a region: without the region option (or AWS_REGION) use the recovery region.
            region = self.region or (self.get_option("regions") or [None])[0]
            credentials = self.client("sts", region=region).assume_role(**params)["Credentials"]
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
            self.fail_aws(f"Unable to assume role {iam_role_arn} (check the role's trust policy and ExternalId)",
                          exception=error)
        self._frozen_credentials = {
            "profile_name": None,
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
        }

    def _source_servers(self, region):
        client = self.client("drs", region=region)
        filters = {}
        if self.get_option("staging_account_ids"):
            filters["stagingAccountIDs"] = self.get_option("staging_account_ids")
        servers = []
        params = {"filters": filters, "maxResults": 1000}
        try:
            while True:
                page = client.describe_source_servers(**params)
                servers.extend(page.get("items", []))
                if not page.get("nextToken"):
                    break
                params["nextToken"] = page["nextToken"]
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
            self.fail_aws(f"Failed to describe DRS source servers in {region}", exception=error)
        return servers

    def _host_vars(self, server, wave):
        props = server.get("sourceProperties") or {}
        nics = props.get("networkInterfaces") or []
        primary = next((n for n in nics if n.get("isPrimary")), nics[0] if nics else {})
        info = server.get("dataReplicationInfo") or {}
        area = server.get("stagingArea") or {}
        return {
            "drs_source_server_id": server["sourceServerID"],
            "drs_source_server_arn": server.get("arn"),
            "drs_wave": wave,
            "drs_source_instance_id": (props.get("identificationHints") or {}).get("awsInstanceID"),
            "drs_source_private_ip": (primary.get("ips") or [None])[0],
            "drs_replication_state": info.get("dataReplicationState"),
            "drs_lag_seconds": _duration_seconds(info.get("lagDuration")),
            "drs_staging_account_id": area.get("stagingAccountID") if area.get("status") == "EXTENDED" else None,
            "drs_recovery_instance_id": server.get("recoveryInstanceId"),
            "drs_last_launch_result": server.get("lastLaunchResult"),
            "drs_replication_direction": server.get("replicationDirection"),
            "drs_tags": server.get("tags") or {},
        }

    def _populate(self, servers, region):
        hostname_tag = self.get_option("hostname_tag")
        wave_tag = self.get_option("wave_tag")
        direction = self.get_option("replication_direction")
        strict = self.get_option("strict")
        primary_regions = set()
        seen = {}
        for server in servers:
            if server.get("replicationDirection", "FAILOVER") != direction:
                continue
            tags = server.get("tags") or {}
            name = tags.get(hostname_tag)
            if not name:
                if self.get_option("require_hostname_tag"):
                    self.display.warning(f"DRS source server {server['sourceServerID']} has no {hostname_tag} tag; skipped")
                    continue
                name = ((server.get("sourceProperties") or {}).get("identificationHints") or {}).get("hostname") \
                    or server["sourceServerID"]
            if name in seen:
                raise AnsibleError(
                    f"Two DRS source servers are named {name} ({seen[name]} and {server['sourceServerID']}): hosts must "
                    f"be unique. Give them distinct {hostname_tag} tags.")
            seen[name] = server["sourceServerID"]
            wave = tags.get(wave_tag)
            try:
                wave = int(wave) if wave is not None else self.get_option("default_wave")
            except ValueError:
                raise AnsibleError(f"DRS source server {name} ({server['sourceServerID']}) has {wave_tag}={wave!r}, "
                                   "which is not an integer wave number.") from None
            if wave is None:
                self.display.warning(f"DRS source server {name} has no {wave_tag} tag and no default_wave; skipped")
                continue
            host_vars = self._host_vars(server, wave)
            group = self.inventory.add_group(f"wave_{wave}")
            self.inventory.add_host(name, group=group)
            for key, value in host_vars.items():
                self.inventory.set_variable(name, key, value)
            origin = (server.get("sourceCloudProperties") or {}).get("originRegion")
            if origin:
                primary_regions.add(origin)
            self._set_composite_vars(self.get_option("compose"), host_vars, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), host_vars, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), host_vars, name, strict=strict)
        primary = self.get_option("primary_region")
        if not primary:
            if len(primary_regions) > 1:
                raise AnsibleError(f"The source servers come from several regions ({', '.join(sorted(primary_regions))}); "
                                   "set primary_region.")
            primary = next(iter(primary_regions), None)
        all_vars = {
            "drs_primary_region": primary, "drs_recovery_region": region,
            "drs_protection_group": self.get_option("protection_group"),
            "drs_state_table_prefix": self.get_option("state_table_prefix"),
        }
        if self.get_option("assume_role_arn"):
            all_vars["drs_target_role_arn"] = self.get_option("assume_role_arn")
        # The ExternalId is a secret: it is used here to assume the role and never published as a variable (it would
        # show in ansible-inventory --list and in the controller's inventory). The modules read it from
        # drs_external_id (vault, extra vars) or from DRS_EXTERNAL_ID in the environment.
        staging = self.get_option("staging_account_ids")
        if staging and len(staging) == 1:
            all_vars["drs_staging_account_id"] = staging[0]
        for key, value in all_vars.items():
            if value is not None:
                self.inventory.set_variable("all", key, value)

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache=cache)
        regions = self.get_option("regions")
        if len(regions) != 1:
            raise AnsibleError(f"{path}: regions must name exactly one recovery region; got {regions}.")
        region = regions[0]
        use_cache, cached = self.get_cached_result(path, cache)
        servers = cached if use_cache else self._source_servers(region)
        self._populate(servers, region)
        self.update_cached_result(path, cache, servers)
