#!/usr/bin/env bash
# The outage drill's stand-in for taking a region down and bringing it back:
#
#   outage.sh down REGION | outage.sh up REGION
#
# Replace the body with your own tooling (fail the region's Route 53 health check, drain its
# load balancer, scale its service to zero). Here it calls the control API of the local
# regions (../local/regions.py), whose address run-under-act.sh passes as REGION_CONTROL_URL.
set -euo pipefail
action="${1:?down or up}" region="${2:?a region}"
: "${REGION_CONTROL_URL:?no REGION_CONTROL_URL: this stub drives the local regions of run-under-act.sh; put your own tooling here}"
curl -fsS -X POST "$REGION_CONTROL_URL/$action/$region"
echo
