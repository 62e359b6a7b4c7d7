"""Why the instance says it cannot serve."""
from shop.error_codes import ErrorCode

NOT_READY = ErrorCode("not_ready", 503, "the database does not answer; `checks` names each dependency and "
                                        "whether it is ok")
