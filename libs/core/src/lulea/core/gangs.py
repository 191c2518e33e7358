"""The pod contract between the GpuJob operator and the placement scheduler, in one place.

The operator writes the labels and annotations of the first block on every pod of a gang;
the scheduler reads them, and writes back the plan annotation, the binding annotation and
the `PodScheduled` condition of the second block. `docs/gpu-jobs.md` says the same in prose.
"""

SCHEDULER_NAME = "lulea-placement"
GPU = "nvidia.com/gpu"

# written by the operator
GANG = "lulea.io/gang"  # label: gang id, unique in the namespace (one per job attempt)
GANG_SIZE = "lulea.io/gang-size"  # label: number of pods in the gang
PROJECT = "lulea.io/project"  # label: the owning project (= namespace)
JOB = "lulea.io/job"  # label: the GpuJob name
ATTEMPT = "lulea.io/attempt"  # label: the job's attempt this gang belongs to
RANK = "lulea.io/rank"  # label: the pod's rank in its gang, 0..size-1
GANG_HOSTS = "lulea.io/gang-hosts"  # annotation: "k" when every pod needs its own host
GROUP_BY = "lulea.io/topology-group-by"  # annotation: node label all hosts must share
PRIORITY = "lulea.io/priority"  # annotation: queue priority 0..1000
SIM_PREFIX = "sim.lulea.io/"  # job annotations copied to pods (kwok's stages act on them)
# Any SIM_PREFIX annotation makes kwok play the pod; without one the local runtime runs it for
# real. `sim.lulea.io/simulated: "true"` alone: simulated, running until deleted.
SIMULATED = "sim.lulea.io/simulated"

# written by the scheduler
PLAN = "placement.lulea.io/plan"  # annotation on the gang's first pod: JSON {pod: node}
PLACED_AT = "placement.lulea.io/placed-at"  # on every bound pod (via the Binding): decision time
# PodScheduled=False reasons on the gang's first pod while it is not placed
NEVER_FITS = "NeverFits"  # terminal: the gang cannot fit this cluster even empty
UNSCHEDULABLE = "Unschedulable"  # waits for GPUs to free up
QUOTA_EXCEEDED = "QuotaExceeded"  # waits for the project's own jobs to finish
