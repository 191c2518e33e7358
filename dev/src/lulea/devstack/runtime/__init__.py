"""The local pod runtime (`pod-runtime` in the stack): runs the containers of pods bound to the
fleet's nodes as local processes, for pods that kwok does not simulate. See docs/runtime.md.

Kept free of imports: the per-container shim (`lulea.devstack.runtime.shim`) starts under it.
"""
