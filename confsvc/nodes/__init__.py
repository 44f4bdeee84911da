"""Several Asterisk media nodes behind one controller (README "Running several media
nodes"): which node holds which room, one ARI client per node behind one AriClient face,
node loss and draining."""

from confsvc.nodes.ari import NodeAri
from confsvc.nodes.cluster import Cluster, Node, NodeSpec, parse_nodes

__all__ = ["Cluster", "Node", "NodeAri", "NodeSpec", "parse_nodes"]
