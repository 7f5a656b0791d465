# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    # Options shared by every module: the recovery (target) account's role.
    DOCUMENTATION = r"""
options:
  target_role_arn:
    description:
      - An IAM role in the recovery (target) account to assume for every DRS and EC2 call in the recovery
        region (O(region)). Omit it to use the given credentials directly.
      - The role is assumed through STS with O(external_id); credentials are cached per role until shortly
        before they expire.
    type: str
  external_id:
    description:
      - The ExternalId for O(target_role_arn), as in the role's trust policy (C(sts:ExternalId)).
      - Required with O(target_role_arn) unless O(require_external_id=false).
    type: str
  require_external_id:
    description:
      - Refuse to assume a role without an ExternalId (the confused-deputy protection AWS recommends for
        cross-account roles).
    type: bool
    default: true
"""
