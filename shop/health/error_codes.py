"""Why the instance says it cannot serve."""
from shop.error_codes import ErrorCode

NOT_READY = ErrorCode("not_ready", 503, "a dependency (the database, or Redis when configured) does not answer; "
                                        "`checks` names each one and whether it is ok")
