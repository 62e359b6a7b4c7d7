import marshmallow as ma


class LivenessSchema(ma.Schema):
    status = ma.fields.String(metadata={"example": "ok"})


class ReadinessSchema(ma.Schema):
    status = ma.fields.String(metadata={"example": "ready", "description": "ready, or degraded when an optional "
                                                                          "dependency (Redis) failed"})
    checks = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(),
                            metadata={"example": {"database": "ok", "redis": "ok"}})
