"""The organisation beside its sector: its own exact figures next to the federation's
published results (`koepel publish`), computed locally; nothing leaves the node for this."""

from node.organisation.sector.beside import BesideCell, BesideFigure, beside_sector
from node.organisation.sector.page import beside_html

__all__ = ["BesideCell", "BesideFigure", "beside_html", "beside_sector"]
