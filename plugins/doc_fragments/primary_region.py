# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    # Options of the modules that also reach the primary region.
    DOCUMENTATION = r"""
options:
  source_region:
    description:
      - The primary region, where the protected (source) instances run.
      - O(region) is always the recovery region, where DRS replicates the source servers and the
        launch-into targets wait.
    type: str
  source_role_arn:
    description:
      - An IAM role in the account of the source instances to assume for reads in O(source_region).
    type: str
  source_external_id:
    description:
      - The ExternalId for O(source_role_arn).
    type: str
"""
