"""Staff-editable thresholds of track & trace (core.rules): how often a parcel is asked
about in each phase, when the poller gives up, and when a parcel counts as stalled."""

from django.utils.translation import gettext_lazy as _

from carriers.statuses import ShipmentStatus as S
from core.rules import define_rule

FIRST_POLL_MINUTES = define_rule(
    "carriers.poll.first_minutes",
    30,
    label=_("A new parcel is first asked about this many minutes after it shipped"),
    unit="min",
)
PRE_TRANSIT_MINUTES = define_rule(
    "carriers.poll.pre_transit_minutes",
    120,
    label=_("Poll a parcel the carrier has not collected yet (announced, or not known yet) every … minutes"),
    unit="min",
)
IN_TRANSIT_MINUTES = define_rule(
    "carriers.poll.in_transit_minutes",
    240,
    label=_("Poll a parcel in transit every … minutes"),
    unit="min",
)
OUT_FOR_DELIVERY_MINUTES = define_rule(
    "carriers.poll.out_for_delivery_minutes",
    60,
    label=_("Poll a parcel out for delivery every … minutes"),
    unit="min",
)
DELIVERY_FAILED_MINUTES = define_rule(
    "carriers.poll.delivery_failed_minutes",
    90,
    label=_("Poll a parcel after a failed delivery every … minutes"),
    unit="min",
)
AT_PICKUP_POINT_MINUTES = define_rule(
    "carriers.poll.at_pickup_point_minutes",
    480,
    label=_("Poll a parcel waiting at a pickup point every … minutes"),
    unit="min",
)
EXCEPTION_MINUTES = define_rule(
    "carriers.poll.exception_minutes",
    240,
    label=_("Poll a parcel with a problem at the carrier every … minutes"),
    unit="min",
)
FEED_MINUTES = define_rule(
    "carriers.poll.feed_minutes",
    10,
    label=_("Read a carrier's change feed (PostNL) every … minutes"),
    unit="min",
)
FEED_SAFETY_NET_MINUTES = define_rule(
    "carriers.poll.feed_safety_net_minutes",
    1440,
    label=_("With a change feed, still ask about each parcel by its code every … minutes"),
    unit="min",
)
GIVE_UP_DAYS = define_rule(
    "carriers.tracking.give_up_days",
    14,
    label=_("Stop polling a parcel, and report it as probably lost, after this many days without news"),
    unit=_("days"),
)
STALLED_BUSINESS_DAYS = define_rule(
    "carriers.watch.stalled_business_days",
    3,
    label=_("A parcel without a scan for this many carrier business days goes on the watch list"),
    unit=_("business days"),
)

# The polling interval of each phase. Final statuses are not polled at all.
PHASE_RULES: dict[str, str] = {
    S.PRE_TRANSIT: PRE_TRANSIT_MINUTES,
    S.UNKNOWN: PRE_TRANSIT_MINUTES,
    S.IN_TRANSIT: IN_TRANSIT_MINUTES,
    S.OUT_FOR_DELIVERY: OUT_FOR_DELIVERY_MINUTES,
    S.DELIVERY_FAILED: DELIVERY_FAILED_MINUTES,
    S.AT_PICKUP_POINT: AT_PICKUP_POINT_MINUTES,
    S.EXCEPTION: EXCEPTION_MINUTES,
}
