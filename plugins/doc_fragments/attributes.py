# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    # How every DRS module supports the attributes of ansible.builtin.action_common_attributes (which describes
    # check_mode, diff_mode and platform; list both), and its action group (module_defaults' group/elasticdr.orchestration.drs,
    # meta/runtime.yml). A module states only what differs, for example diff_mode support, or check_mode details: its
    # own keys win over the fragment's, attribute by attribute.
    DOCUMENTATION = r"""
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: all
  action_group:
    description: Action is part of action_group(s), for convenient setting of module_defaults.
    support: N/A
    membership:
      - elasticdr.orchestration.drs
"""
