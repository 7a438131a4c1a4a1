"""Reads a /metrics page on stdin with the Prometheus client library's own parser
(prometheus_client.parser, the text exposition format 0.0.4) and prints what it understood as
JSON: {family: {"type": ..., "samples": [[name, labels, value], ...]}}. A page the parser
refuses makes it exit 1 with the parser's error."""

import json
import sys

from prometheus_client.parser import text_string_to_metric_families

try:
    families = {
        family.name: {
            "type": family.type,
            "samples": [[s.name, s.labels, s.value] for s in family.samples],
        }
        for family in text_string_to_metric_families(sys.stdin.read())
    }
except Exception as error:  # the parser raises ValueError and others on a bad page
    print(f"the Prometheus parser refused the page: {error!r}", file=sys.stderr)
    sys.exit(1)
json.dump(families, sys.stdout)
