#!/usr/bin/python
# -*- coding: utf-8 -*-
# relup.fleet.relup_release: bring one relup node to a release, through the
# relup CLI on the host (relup apply, make-permanent, downgrade).
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: relup_release
short_description: Apply, make permanent, or downgrade a release on a relup node
description:
  - Hot-upgrades the relup node at I(root) to a release tarball (C(relup apply)), makes a
    release permanent (C(relup make-permanent)), or takes the node back to an earlier release
    (C(relup downgrade)). Processes keep their state and connections; a failed upgrade is
    rolled back by the node itself before this module returns.
  - Idempotent. A node already on the release reports C(changed=false).
  - Check mode runs C(relup apply --dry-run) (or C(downgrade --dry-run)), which tries every
    C(code_change) on copies of the states and changes nothing.
  - With C(--diff), shows the release and module versions before and after.
options:
  state:
    description:
      - C(applied) runs the release in I(tarball) (not permanent).
      - C(permanent) makes release I(vsn) (or I(tarball)'s) permanent, applying I(tarball)
        first if the node does not run it yet.
      - C(downgraded) takes the node to release I(vsn) with the newer release's down
        instructions. The permanent release is left as it is: if it is the newer one, a
        restart boots it again (use C(permanent) with I(vsn) to keep the downgrade).
    type: str
    choices: [applied, permanent, downgraded]
    default: applied
  tarball:
    description: Path of the release tarball on the host (required for C(applied)).
    type: path
  vsn:
    description: Release version (required for C(downgraded); for C(permanent) unless I(tarball)).
    type: str
  root:
    description: The node's root directory. Defaults to C(RELUP_ROOT) in the host's environment.
    type: path
  relup:
    description: The relup executable on the host.
    type: str
    default: relup
'''

EXAMPLES = r'''
- name: Upgrade the node to release 2
  relup.fleet.relup_release:
    state: applied
    tarball: /var/lib/relup/shop/incoming/shop-2.tar.gz
    root: /var/lib/relup/shop

- name: Keep it after a restart
  relup.fleet.relup_release:
    state: permanent
    vsn: "2"
    root: /var/lib/relup/shop

- name: Back to release 1
  relup.fleet.relup_release:
    state: downgraded
    vsn: "1"
    root: /var/lib/relup/shop
'''

RETURN = r'''
release:
  description: The release name.
  returned: always
  type: str
vsn:
  description: The release the node runs afterwards (in check mode, would run).
  returned: always
  type: str
previous_vsn:
  description: The release the node ran before.
  returned: always
  type: str
permanent:
  description: The node's permanent release afterwards.
  returned: always
  type: str
report:
  description: relup's --json report of the apply or downgrade (null when nothing ran).
  returned: always
  type: dict
rc:
  description: relup's exit status, on failure (3 refused, 4 rolled back, 5 no node, 6 verify failed).
  returned: failure
  type: int
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.relup.fleet.plugins.module_utils import relup_cli


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', choices=['applied', 'permanent', 'downgraded'],
                       default='applied'),
            tarball=dict(type='path'),
            vsn=dict(type='str'),
            root=dict(type='path'),
            relup=dict(type='str', default='relup'),
        ),
        required_if=[
            ('state', 'applied', ['tarball']),
            ('state', 'downgraded', ['vsn']),
            ('state', 'permanent', ['tarball', 'vsn'], True),
        ],
        supports_check_mode=True,
    )
    state = module.params['state']
    tarball = module.params['tarball']
    root = relup_cli.node_root(module)

    before = relup_cli.node_status(module, root)
    if before is None:
        module.fail_json(msg='no relup node is running at %s: start it first (relup node start '
                             '--root %s, or systemctl start relup@NAME)' % (root, root),
                         rc=relup_cli.EXIT_NO_NODE)
    name = before['release']['name']
    current = before['release']['vsn']
    permanent = before.get('permanent', '')

    target = module.params['vsn']
    if tarball:
        info = relup_cli.inspect(module, tarball)
        if info.get('name') != name:
            module.fail_json(msg='%s holds release %s %s, but the node at %s runs release %s: '
                                 'give the tarball of %s' % (tarball, info.get('name'),
                                                             info.get('vsn'), root, name, name))
        if target and info.get('vsn') != target:
            module.fail_json(msg='vsn is %s but %s holds release %s %s: give one or make them '
                                 'agree' % (target, tarball, name, info.get('vsn')))
        target = info.get('vsn')

    result = dict(changed=False, release=name, previous_vsn=current, vsn=current,
                  permanent=permanent, report=None)

    def change(args, what):
        run_args = list(args) + ['--root', root, '--json']
        if module.check_mode:
            run_args.append('--dry-run')
        outcome = relup_cli.run(module, run_args)
        if not outcome.ok:
            relup_cli.fail(module, what, outcome, previous_vsn=current, vsn=current,
                           release=name)
        result['report'] = outcome.json
        result['changed'] = True
        result['vsn'] = target

    if state in ('applied', 'permanent') and current != target:
        if not tarball:
            module.fail_json(msg='the node at %s runs %s %s, not %s: give tarball to apply %s '
                                 'before making it permanent' % (root, name, current, target,
                                                                  target))
        change(['apply', tarball], 'relup apply %s' % tarball)
    elif state == 'downgraded' and current != target:
        change(['downgrade', target], 'relup downgrade %s' % target)

    if state == 'permanent' and (permanent != target or result['changed']):
        if not module.check_mode:
            outcome = relup_cli.run(module, ['make-permanent', target, '--root', root])
            if not outcome.ok:
                relup_cli.fail(module, 'relup make-permanent %s' % target, outcome)
        result['changed'] = True
        result['permanent'] = target

    after = before
    if result['changed'] and not module.check_mode:
        after = relup_cli.node_status(module, root)
        result['permanent'] = (after or {}).get('permanent', result['permanent'])
    if module._diff:
        after_text = relup_cli.describe(after)
        if module.check_mode and result['changed']:
            # What the dry run says would change, on top of what runs now.
            changes = dict((m.get('module'), m.get('to'))
                           for m in (result['report'] or {}).get('modules') or [])
            predicted = dict(before, release=dict(before['release'], vsn=target),
                             modules=[dict(m, vsn=changes.get(m.get('module'), m.get('vsn')))
                                      for m in before.get('modules') or []])
            after_text = relup_cli.describe(predicted)
        result['diff'] = dict(before=relup_cli.describe(before) + 'permanent %s\n' % permanent,
                              after=after_text + 'permanent %s\n' % result['permanent'])
    module.exit_json(**result)


if __name__ == '__main__':
    main()
