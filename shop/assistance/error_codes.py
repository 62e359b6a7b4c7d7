"""Why the counterpart-support statistics refuse a request (nothing is changed)."""
from shop.error_codes import ErrorCode

INVALID_PERIOD = ErrorCode("invalid_period", 422, "`to` is before `from`, or the period is longer than "
                                                  "ten years")
UNKNOWN_CATEGORY = ErrorCode("unknown_category", 422, "no category has that id")
INVALID_REGION = ErrorCode("invalid_region", 422, "the district or supporter is no known region code")
RAW_FOR_OPERATORS = ErrorCode("raw_for_operators", 403, "unsuppressed figures (raw=true) are for platform "
                                                        "administrators only")
EXPORT_FORBIDDEN = ErrorCode("export_forbidden", 403, "exports are for platform administrators and the members of "
                                                      "a supporter office")
OUTSIDE_OFFICE_REGION = ErrorCode("outside_office_region", 403, "the supporter filter is outside the region of "
                                                                "every supporter office the caller belongs to")
DUPLICATE_OFFICE = ErrorCode("duplicate_office", 409, "the user is already a member of that region's office")
UNKNOWN_USER = ErrorCode("unknown_user", 422, "no user has that id")
