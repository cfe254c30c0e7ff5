"""Broken third-party methodologies: the registry must name each and say what is wrong."""

from methodologies.transit import BusRide


class WonkyBus(BusRide):
    """A bus methodology whose author got the version format wrong."""

    code = "wonky"
    version = "1.0"
