"""The service room: the node on the wire.

Opening a node from its configuration and serving it over gRPC (``server``), the servicer that
translates messages to engine calls (``servicer``, ``serde``) and domain errors to status codes
(``errors``), who is asking (``identity``), reply pacing (``pacing``) and Prometheus metrics
(``metrics``). The logic it adapts lives in the engine room.
"""

from node.service.metrics import NodeMetrics
from node.service.pacing import ReplyPacer
from node.service.server import NodeRuntime, create_server, open_node, serve

__all__ = ["NodeMetrics", "NodeRuntime", "ReplyPacer", "create_server", "open_node", "serve"]
