#!/usr/bin/python
# -*- coding: utf-8 -*-
# relup.fleet.relup_facts: what a relup node runs, as Ansible facts.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: relup_facts
short_description: Gather the release state of a relup node
description:
  - Sets the fact C(relup) from C(relup status --json) and C(relup releases --json) on the host.
  - A node that is not running is not an error: C(relup.running) is false, and the releases
    come from the node's store on disk. Use it to see where a host stands after a rollout
    stopped, or once an unreachable host is back.
options:
  root:
    description: The node's root directory. Defaults to C(RELUP_ROOT) in the host's environment.
    type: path
  relup:
    description: The relup executable on the host.
    type: str
    default: relup
'''

EXAMPLES = r'''
- relup.fleet.relup_facts:
    root: /var/lib/relup/shop
- ansible.builtin.debug:
    msg: "{{ inventory_hostname }} runs {{ relup.release.name }} {{ relup.release.vsn }}"
'''

RETURN = r'''
ansible_facts:
  description: C(relup), with running, root, release (name, vsn, state), permanent, releases
    (name, vsn, state, unpacked_at), modules (module, vsn, processes), suspended, signatures,
    and status (relup status --json as it is).
  returned: always
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.relup.fleet.plugins.module_utils import relup_cli


def main():
    module = AnsibleModule(
        argument_spec=dict(root=dict(type='path'), relup=dict(type='str', default='relup')),
        supports_check_mode=True,
    )
    root = relup_cli.node_root(module)
    status = relup_cli.node_status(module, root)
    stored = relup_cli.releases(module, root)
    permanent = next((r['vsn'] for r in stored if r.get('state') == 'permanent'), '')
    facts = dict(running=status is not None, root=root, releases=stored, permanent=permanent,
                 release=None, modules=[], suspended=[], signatures=None, status=status)
    if status is not None:
        facts.update(release=status.get('release'), modules=status.get('modules') or [],
                     suspended=status.get('suspended') or [],
                     signatures=status.get('signatures'),
                     permanent=status.get('permanent', permanent))
    module.exit_json(changed=False, ansible_facts=dict(relup=facts))


if __name__ == '__main__':
    main()
