"""One way to build a kubernetes_asyncio ApiClient, for every operator and service."""

from __future__ import annotations

import os

from kubernetes_asyncio import client, config


async def connect(kubeconfig: str | os.PathLike[str] | None = None, *, pool: int | None = None
                  ) -> client.ApiClient:
    """An ApiClient from `kubeconfig`, else $KUBECONFIG, else the pod's service account.

    `pool` sizes the connection pool (kubernetes_asyncio's default is 100 connections, each
    request holding one over HTTP/1.1) for a component that keeps more requests in flight
    (placement's binds plus its watches).
    """
    conf = client.Configuration()
    path = kubeconfig or os.environ.get("KUBECONFIG")
    if path:
        await config.load_kube_config(config_file=str(path), client_configuration=conf)
    else:
        config.load_incluster_config(client_configuration=conf)  # type: ignore[no-untyped-call]
    if pool is not None:
        conf.connection_pool_maxsize = pool
    return client.ApiClient(conf)
