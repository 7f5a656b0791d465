# -*- coding: utf-8 -*-

# Copyright: Contributors to the elasticdr.orchestration project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The life of an execution record: start (or resume) under the protection group's lock, record each
wave and its servers as they finish, end with a final status and release the lock.

Planning is separate from writing so check mode can say what would be written without writing it.
"""

from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import ConfigurationError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.exceptions import LockError
from ansible_collections.elasticdr.orchestration.plugins.module_utils.models import EXECUTION_STATUSES
from ansible_collections.elasticdr.orchestration.plugins.module_utils.models import EXECUTION_TYPES
from ansible_collections.elasticdr.orchestration.plugins.module_utils.models import ServerRecord
from ansible_collections.elasticdr.orchestration.plugins.module_utils.models import WAVE_STATUSES
from ansible_collections.elasticdr.orchestration.plugins.module_utils.models import WaveRecord
from ansible_collections.elasticdr.orchestration.plugins.module_utils.models import iso
from ansible_collections.elasticdr.orchestration.plugins.module_utils.models import ttl_epoch
from ansible_collections.elasticdr.orchestration.plugins.module_utils.wave_summary import summary_lines

FINAL_WAVE_STATUSES = ("COMPLETED", "PARTIAL", "FAILED", "TIMED_OUT", "SKIPPED")


def _seconds_between(start, end):
    import datetime

    try:
        parse = datetime.datetime.fromisoformat
        return round((parse(end.replace("Z", "+00:00")) - parse(start.replace("Z", "+00:00"))).total_seconds(), 3)
    except (AttributeError, ValueError):
        return None


class ExecutionRecorder:
    """store: a state_store.StateStore. check_mode: plan only, write nothing."""

    def __init__(self, store, protection_group, execution_id, check_mode=False, now=iso):
        self.store = store
        self.protection_group = protection_group
        self.execution_id = execution_id
        self.check_mode = check_mode
        self.now = now

    def start(self, execution_type, waves=None, primary_region=None, recovery_region=None, lease_seconds=7200,
              break_lock=False, operator=None, is_drill=False):
        """Take the lock and create or resume the record. Returns {execution, resumed, wave_status, changed}."""
        if execution_type not in EXECUTION_TYPES:
            raise ConfigurationError(f"execution_type must be one of {', '.join(EXECUTION_TYPES)}.")
        self.store.check_tables()
        record = self.store.get_execution_waves(self.execution_id)
        header = record["execution"]
        if header is not None:
            for field, wanted in (("protection_group", self.protection_group), ("execution_type", execution_type)):
                if header.get(field) != wanted:
                    raise ConfigurationError(
                        f"Execution {self.execution_id} is a {header.get('execution_type')} of protection group "
                        f"{header.get('protection_group')}; it cannot be resumed as a {execution_type} of "
                        f"{self.protection_group}.", server=self.execution_id,
                        remediation="Use a new drs_execution_id (or none, to generate one) for a different run.")
        lock = self.store.get_lock(self.protection_group)
        if self.check_mode:
            if lock and lock.get("holder") != self.execution_id:
                stale = lock.get("lease_expires", 0) < self.store.clock()
                if not (stale and break_lock):
                    # A real run would be refused: say so now, without writing anything.
                    self._refuse(lock, stale)
        else:
            self.store.acquire_lock(self.protection_group, self.execution_id, lease_seconds=lease_seconds,
                                    break_stale=break_lock, info={"operator": operator, "execution_type": execution_type})
        resumed = header is not None
        now = self.now()
        new_header = dict(header or {})
        new_header.update({
            "execution_id": self.execution_id, "protection_group": self.protection_group,
            "execution_type": execution_type, "status": "RUNNING", "updated_at": now,
            "primary_region": primary_region or new_header.get("primary_region"),
            "recovery_region": recovery_region or new_header.get("recovery_region"),
            "is_drill": bool(is_drill), "ttl": ttl_epoch(),
        })
        new_header.setdefault("started_at", now)
        if waves is not None:
            # A resumed execution may run other waves (an AWX workflow runs one wave per node): keep them all.
            new_header["planned_waves"] = sorted({int(w) for w in waves} | set(new_header.get("planned_waves") or []))
        if operator:
            new_header.setdefault("operator", operator)
        if resumed:
            new_header["resumed_at"] = now
            new_header["resume_count"] = int(new_header.get("resume_count") or 0) + 1
        if not self.check_mode:
            self.store.put_execution(new_header)
        statuses = {wave: item.get("status") for wave, item in record["waves"].items()}
        return {
            "execution": new_header, "resumed": resumed, "wave_statuses": statuses,
            "completed_waves": sorted(w for w, s in statuses.items() if s == "COMPLETED"),
            "changed": True,
        }

    @staticmethod
    def _refuse(lock, stale):
        raise LockError(
            f"Protection group is locked by execution {lock.get('holder')} (lease "
            f"{'expired' if stale else 'valid'}).", server=lock.get("protection_group"),
            details={"holder": lock.get("holder"), "stale": stale, "lease_expires": lock.get("lease_expires")})

    def record_wave(self, wave, status, servers=None, job_ids=None, error=None, lease_seconds=7200, counts=None):
        """Write a wave and its servers (RUNNING when it starts, a final status when it ends)."""
        if status not in WAVE_STATUSES:
            raise ConfigurationError(f"wave_status must be one of {', '.join(WAVE_STATUSES)}.")
        wave = int(wave)
        records = []
        for item in servers or []:
            known = {k: v for k, v in item.items() if k in ServerRecord.FIELDS and v is not None}
            records.append(ServerRecord.from_dict(known).to_dict())
        names = [r["name"] for r in records]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ConfigurationError(f"Servers listed twice in wave {wave}: {', '.join(duplicates)}.",
                                     server=", ".join(duplicates))
        existing = self.store.get_execution_waves(self.execution_id)
        # In check mode the start wrote nothing, so a missing record is what a real run would have created.
        if existing["execution"] is None and not self.check_mode:
            raise ConfigurationError(f"No execution {self.execution_id} to record wave {wave} in.",
                                     server=self.execution_id, remediation="Start the execution first (state=started).")
        previous = existing["waves"].get(wave, {})
        now = self.now()
        item = {"wave": wave, "status": status, "job_ids": sorted(set(job_ids or previous.get("job_ids") or [])),
                "started_at": previous.get("started_at") or now, "updated_at": now,
                "server_count": len(records) or previous.get("server_count"), "counts": counts or previous.get("counts"),
                "error": error}
        if status in FINAL_WAVE_STATUSES:
            item["ended_at"] = now
            item["duration_seconds"] = _seconds_between(item["started_at"], now)
        WaveRecord.from_dict({k: v for k, v in item.items() if k in WaveRecord.FIELDS})
        if not self.check_mode:
            self.store.put_wave(self.execution_id, item)
            if records:
                self.store.put_servers(self.execution_id, wave, records)
            self.store.acquire_lock(self.protection_group, self.execution_id, lease_seconds=lease_seconds)
        return {"wave": item, "servers": records, "changed": True}

    def record_wave_end(self, wave, status, servers=None, job_ids=None, error=None, lease_seconds=7200, counts=None,
                        next_wave=None):
        """record_wave, then, when the wave COMPLETED and next_wave is given, record next_wave as RUNNING (a
        failed wave stops the run, so its next wave does not start). The result has wave_status, counts,
        next_wave_running (with next_wave) and summary, the lines shown to the operator."""
        result = self.record_wave(wave, status, servers=servers, job_ids=job_ids, error=error,
                                  lease_seconds=lease_seconds, counts=counts)
        result["wave_status"] = status
        result["counts"] = counts
        if next_wave is not None:
            result["next_wave_running"] = None
            if status == "COMPLETED":
                self.record_wave(next_wave, "RUNNING", lease_seconds=lease_seconds)
                result["next_wave_running"] = next_wave
        result["summary"] = summary_lines(wave, status, result["servers"], counts or {})
        return result

    def finish(self, status, error=None, release_lock=True):
        if status not in EXECUTION_STATUSES or status in ("PENDING", "RUNNING"):
            raise ConfigurationError("status must be a final execution status: COMPLETED, PARTIAL, FAILED, "
                                     "TIMED_OUT or CANCELLED.")
        record = self.store.get_execution_waves(self.execution_id)
        header = dict(record["execution"] or {})
        if not header and not self.check_mode:
            raise ConfigurationError(f"No execution {self.execution_id} to finish.", server=self.execution_id,
                                     remediation="Start the execution first (state=started).")
        now = self.now()
        header.update({"status": status, "ended_at": now, "updated_at": now, "error": error,
                       "duration_seconds": _seconds_between(header.get("started_at"), now)})
        released = False
        if not self.check_mode:
            self.store.put_execution(header)
            if release_lock:
                released = self.store.release_lock(self.protection_group, self.execution_id)
        return {"execution": header, "lock_released": released, "changed": True}
