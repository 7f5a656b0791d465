# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    # Settings of a DRS launch configuration that are also settings of a region's launch configuration template.
    DOCUMENTATION = r"""
options:
  launch_disposition:
    description: Whether DRS starts the recovered instance (C(STARTED)) or leaves it stopped (C(STOPPED)).
    type: str
    choices: [STARTED, STOPPED]
    default: STARTED
  right_sizing:
    description:
      - C(targetInstanceTypeRightSizingMethod). C(NONE) keeps the instance type of the launch-into target (in a
        failback, the original instance), the practice with launch-into.
    type: str
    choices: [NONE, BASIC, IN_AWS]
    default: NONE
"""
