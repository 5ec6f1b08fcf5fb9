"""Test::FailDelete, a Heat resource whose deletion fails on purpose.

Why: the driver's tests must see a stack go to DELETE_FAILED and then be
deleted by a retry. None of Heat's own test resources can do that
(OS::Heat::TestResource's `fail` only acts on create/update, and a stack in
DELETE_FAILED cannot be updated to clear it), so heat.sh loads this module
through [DEFAULT] plugin_dirs.

Behaviour: creation finishes at once. Each delete attempt is counted in the
resource's data (kept in Heat's database, so it survives between attempts);
the first `fail_attempts` attempts raise, later ones succeed. A negative
value makes every attempt fail.

    resources:
      sticky:
        type: Test::FailDelete
        properties:
          fail_attempts: 1
"""
from heat.common.i18n import _
from heat.engine import constraints
from heat.engine import properties
from heat.engine import resource

_COUNTER = 'delete_attempts_failed'


class FailDelete(resource.Resource):
    """Created instantly; refuses the first N deletes."""

    PROPERTIES = (FAIL_ATTEMPTS,) = ('fail_attempts',)

    properties_schema = {
        FAIL_ATTEMPTS: properties.Schema(
            properties.Schema.INTEGER,
            _('Number of delete attempts that fail before one succeeds; '
              '-1 means deletes always fail.'),
            default=1,
            constraints=[constraints.Range(min=-1)],
            update_allowed=True,
        ),
    }

    def handle_create(self):
        # any stable, unique id will do; nothing real exists behind it
        self.resource_id_set(self.physical_resource_name())
        # start from zero even if a stale row for a reused resource id
        # survived (see heat_server.py on sqlite and foreign keys)
        self.data_set(_COUNTER, '0')

    def handle_delete(self):
        limit = self.properties[self.FAIL_ATTEMPTS]
        failed_so_far = int(self.data().get(_COUNTER, 0))
        if limit >= 0 and failed_so_far >= limit:
            return None
        self.data_set(_COUNTER, str(failed_so_far + 1))
        raise RuntimeError(
            'Test::FailDelete %s: deliberate delete failure #%d (fail_attempts=%d)'
            % (self.name, failed_so_far + 1, limit))


def resource_mapping():
    return {'Test::FailDelete': FailDelete}
