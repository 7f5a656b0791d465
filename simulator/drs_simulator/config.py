"""Tunable simulator behaviour: phase durations, quotas, and the choices for undocumented behaviour.

Durations are simulated seconds. Defaults follow the field timings in docs/DRS_BEHAVIOUR.md section 5:
a launch-into failover of an 8 GiB server takes about 10 minutes; failback with reverse replication
about 45 minutes, growing with disk size.
"""
from __future__ import annotations

import copy
import dataclasses


@dataclasses.dataclass
class Durations:
    job_start: float = 15.0            # PENDING -> STARTED
    cleanup: float = 30.0              # terminating a previous (non launch-into) recovery instance
    snapshot: float = 60.0             # SNAPSHOT_START -> SNAPSHOT_END
    conversion: float = 240.0          # CONVERSION_START -> CONVERSION_END
    launch: float = 240.0              # LAUNCH_START -> LAUNCHED
    terminate: float = 60.0            # a TERMINATE job
    replication_initiating: float = 120.0      # INITIATING -> INITIAL_SYNC
    initial_sync_per_gib: float = 200.0        # INITIAL_SYNC time per GiB of replicated disk
    rescan_per_gib: float = 100.0              # RESCAN time per GiB after re-protection (replica already there)
    catch_up: float = 600.0            # CONTINUOUS: lag shrinks from catch_up_lag to steady_lag
    catch_up_lag: float = 900.0
    steady_lag: float = 5.0
    plan_step_poll: float = 0.0        # delay between a plan step's job ending and the next step

    def scaled(self, factor: float) -> "Durations":
        return Durations(**{f.name: getattr(self, f.name) * factor for f in dataclasses.fields(self)})


@dataclasses.dataclass
class Quotas:
    # User guide / quota table values (docs/DRS_BEHAVIOUR.md section 2); configurable because
    # sources disagree and accounts can raise them.
    servers_per_job: int = 100
    concurrent_jobs: int = 20
    servers_in_active_jobs: int = 500
    active_jobs_per_server: int = 1


@dataclasses.dataclass
class Behaviour:
    """Choices standing in for undocumented DRS behaviour (docs/DRS_BEHAVIOUR.md section 10)."""

    # StartRecovery with an unknown source server: "skip" starts the job without it and logs
    # SERVER_SKIPPED; "conflict" refuses the whole call with ConflictException.
    unknown_server_in_start_recovery: str = "skip"
    # Old volumes of a launched-into target: "keep" detaches and tags them; "delete" removes them.
    launch_into_old_volumes: str = "keep"
    # ReverseReplication on a recovery instance that already replicates back: "return_existing"
    # answers with the existing reversed server's ARN; "conflict" raises ConflictException.
    repeated_reverse_replication: str = "return_existing"
    # Whether StartRecovery of a server whose replication never reached CONTINUOUS fails at the
    # snapshot phase (True) or launches from whatever data there is (False).
    require_initial_sync: bool = True

    def validate(self) -> None:
        allowed = {
            "unknown_server_in_start_recovery": ("skip", "conflict"),
            "launch_into_old_volumes": ("keep", "delete"),
            "repeated_reverse_replication": ("return_existing", "conflict"),
        }
        for name, choices in allowed.items():
            if getattr(self, name) not in choices:
                raise ValueError(f"behaviour.{name} must be one of {', '.join(choices)}")


@dataclasses.dataclass
class SimConfig:
    durations: Durations = dataclasses.field(default_factory=Durations)
    quotas: Quotas = dataclasses.field(default_factory=Quotas)
    behaviour: Behaviour = dataclasses.field(default_factory=Behaviour)

    def update(self, data: dict) -> None:
        """Apply a partial {"durations": {...}, "quotas": {...}, "behaviour": {...}} mapping.

        All or nothing: a ValueError leaves every setting as it was.
        """
        if not isinstance(data, dict):
            raise ValueError("settings must be a mapping with durations, quotas and/or behaviour")
        unknown = set(data) - {"durations", "quotas", "behaviour"}
        if unknown:
            raise ValueError(f"unknown settings section(s): {', '.join(sorted(unknown))}")
        trial = copy.deepcopy(self)
        for section in ("durations", "quotas", "behaviour"):
            values = data.get(section) or {}
            if not isinstance(values, dict):
                raise ValueError(f"{section} must be a mapping")
            target = getattr(trial, section)
            names = {f.name: f.type for f in dataclasses.fields(target)}
            for key, value in values.items():
                if key not in names:
                    raise ValueError(f"unknown setting {section}.{key}; known: {', '.join(sorted(names))}")
                current = getattr(target, key)
                if isinstance(current, bool):
                    if not isinstance(value, bool):
                        raise ValueError(f"{section}.{key} must be true or false")
                elif isinstance(current, (int, float)):
                    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                        raise ValueError(f"{section}.{key} must be a non-negative number")
                    value = type(current)(value)
                setattr(target, key, value)
        trial.behaviour.validate()
        for section in ("durations", "quotas", "behaviour"):
            for field in dataclasses.fields(getattr(self, section)):
                setattr(getattr(self, section), field.name, getattr(getattr(trial, section), field.name))

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)
