"""Talking to the Kubernetes API, once for every member: client construction (`connect`), a
raw-JSON layer (`Kube`), Lease-based leader election (`LeaderLease`) and status conditions.

    api = await connect(settings.kubeconfig)        # a kubeconfig, $KUBECONFIG, or in-cluster
    kube = Kube(api)
    lease = LeaderLease(kube, "lulea-system", "lulea-operator-project", identity)
"""

from lulea.core.kube.client import connect
from lulea.core.kube.conditions import condition, set_condition
from lulea.core.kube.lease import (
           LeaderElectionSettings,
           LeaderLease,
           LeadershipLost,
           LeaseTiming,
           while_leading,
)
from lulea.core.kube.raw import Kube, KubeError, Obj

__all__ = ["Kube", "KubeError", "LeaderElectionSettings", "LeaderLease", "LeadershipLost", "LeaseTiming",
           "Obj", "condition", "connect", "set_condition", "while_leading"]
