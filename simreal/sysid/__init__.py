"""System identification: an arm's physics fitted to a recording (``simreal sysid``) and how
well the fit recovers known physics (``simreal bench sysid``)."""
