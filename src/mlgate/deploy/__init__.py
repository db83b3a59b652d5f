"""From champion to serving: the service image's metadata (what was promoted, as OCI labels and tags) and
fetching an exact registry version for a serving arm. The canary itself is `mlgate.canary`."""
