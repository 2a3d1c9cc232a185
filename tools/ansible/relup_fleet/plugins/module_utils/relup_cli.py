# -*- coding: utf-8 -*-
# Running the relup CLI from an Ansible module: every call goes through
# run(), which returns relup's exit status, its JSON (when it printed one)
# and its message, and fail(), which hands relup's own message and exit
# status to fail_json. The modules never parse relup's text output: only
# --json output.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

# relup's exit statuses (tools/exit_status.h).
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_ROLLED_BACK = 4
EXIT_NO_NODE = 5
EXIT_VERIFY_FAILED = 6


class RelupResult(object):
    def __init__(self, cmd, rc, out, err):
        self.cmd = cmd
        self.rc = rc
        self.out = out
        self.err = err
        self.json = None
        text = out.strip()
        if text:
            try:
                self.json = json.loads(text)
            except ValueError:
                self.json = None

    @property
    def ok(self):
        return self.rc == EXIT_OK

    def message(self):
        """relup's own words: stderr, else the first failure of a report."""
        err = self.err.strip()
        if err:
            return err
        report = self.json if isinstance(self.json, dict) else {}
        for failure in report.get('failures') or []:
            reason = failure.get('reason') or {}
            return '%s: %s' % (failure.get('step', ''), reason.get('message', ''))
        return 'relup exited with status %d' % self.rc


def node_root(module):
    """The node's root: the root option, else RELUP_ROOT on the host."""
    root = module.params.get('root') or os.environ.get('RELUP_ROOT')
    if not root:
        module.fail_json(msg='root is not set and RELUP_ROOT is not set on the host: '
                             'give root: the node root directory (e.g. /var/lib/relup/NAME)')
    if not os.path.isdir(root):
        module.fail_json(msg='%s is not a relup node root on this host (no such directory): '
                             'check the root given (relup_root in the inventory)' % root)
    return root


def run(module, args):
    """Runs `relup ARGS` on the host."""
    relup = module.params.get('relup') or 'relup'
    binary = module.get_bin_path(relup, required=False) if '/' not in relup else relup
    if not binary or not os.path.exists(binary):
        module.fail_json(msg='relup was not found on the host (%s): install the relup package '
                             '(apt install ./relup_VERSION_amd64.deb) or give relup: PATH' % relup)
    cmd = [binary] + list(args)
    rc, out, err = module.run_command(cmd, check_rc=False)
    return RelupResult(cmd, rc, out, err)


def fail(module, what, result, **extra):
    """fail_json with relup's message, its exit status and its report."""
    message = result.message()
    # relup's own messages begin "relup CMD:" already.
    msg = message if message.startswith(' '.join(what.split()[:2])) else '%s: %s' % (what, message)
    module.fail_json(msg=msg, rc=result.rc, cmd=result.cmd,
                     stdout=result.out, stderr=result.err, report=result.json, **extra)


def node_status(module, root):
    """relup status --json, or None when no node runs at root."""
    result = run(module, ['status', '--root', root, '--json'])
    if result.rc == EXIT_NO_NODE:
        return None
    if not result.ok or not isinstance(result.json, dict):
        fail(module, 'relup status', result)
    return result.json


def releases(module, root):
    """relup releases --json (read from the store when no node runs)."""
    result = run(module, ['releases', '--root', root, '--json'])
    if not result.ok or not isinstance(result.json, list):
        fail(module, 'relup releases', result)
    return result.json


def inspect(module, tarball):
    """relup inspect TARBALL --json: name, vsn, key_id, up, down, ..."""
    if not os.path.isfile(tarball):
        module.fail_json(msg='tarball %s does not exist on the host: copy it there first '
                             '(the rollout playbook does)' % tarball)
    result = run(module, ['inspect', tarball, '--json'])
    if not result.ok or not isinstance(result.json, dict):
        fail(module, 'relup inspect %s' % tarball, result)
    return result.json


def describe(status):
    """The release and module versions of a status, as text for --diff."""
    if status is None:
        return 'no node running\n'
    release = status.get('release') or {}
    lines = ['release %s %s' % (release.get('name', '?'), release.get('vsn', '?'))]
    for m in sorted(status.get('modules') or [], key=lambda m: (m.get('module'), m.get('vsn'))):
        lines.append('  %s %s (%d process%s)' % (m.get('module'), m.get('vsn'), m.get('processes', 0),
                                                  '' if m.get('processes', 0) == 1 else 'es'))
    return '\n'.join(lines) + '\n'
