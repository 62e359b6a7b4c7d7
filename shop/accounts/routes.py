from flask import current_app, request, session
from flask.views import MethodView
from flask_login import login_user, logout_user
from flask_smorest import Blueprint

from shop.accounts import services
from shop.accounts.auth import authenticated_user, csrf_token, public
from shop.accounts.schemas import (LoginSchema, PasswordChangeSchema, ProfileUpdateSchema, RegisterSchema,
                                   SessionSchema, TokenCreatedSchema, TokenCreateSchema, TokenSchema, UserSchema)
from shop.extensions import limiter

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Accounts, sign-in and API tokens")


def _login_email_key() -> str:
    body = request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    return "login-email:" + (services.normalise_email(email) if isinstance(email, str) else "-")


def _start_session(user) -> dict:
    session.clear()  # a fresh session on sign-in: no fixation
    login_user(user)
    return {"user": user, "csrf_token": csrf_token()}


@blp.route("/register")
class Register(MethodView):
    decorators = [limiter.limit(lambda: current_app.config["REGISTER_RATE_LIMIT"])]

    @blp.arguments(RegisterSchema)
    @blp.response(201, UserSchema)
    @public
    def post(self, data):
        return services.register_user(**data)


@blp.route("/login")
class Login(MethodView):
    # Per client address and per account, so neither a spray nor a distributed guess gets far.
    decorators = [limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"]),
                  limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], key_func=_login_email_key)]

    @blp.arguments(LoginSchema)
    @blp.response(200, SessionSchema)
    @public
    def post(self, data):
        return _start_session(services.authenticate(**data))


@blp.route("/logout")
class Logout(MethodView):
    @blp.response(204)
    def post(self):
        services.end_all_sessions(user=authenticated_user())
        logout_user()
        session.clear()


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, SessionSchema)
    def get(self):
        return {"user": authenticated_user(), "csrf_token": csrf_token()}

    @blp.arguments(ProfileUpdateSchema, required=False)  # every field optional: an empty PATCH changes nothing
    @blp.response(200, UserSchema)
    def patch(self, changes):
        return services.update_profile(user=authenticated_user(), changes=changes)


@blp.route("/password")
class Password(MethodView):
    @blp.arguments(PasswordChangeSchema)
    @blp.response(200, SessionSchema)
    def post(self, data):
        user = services.change_password(user=authenticated_user(), **data)
        # Every older session is gone; this client continues on a fresh one.
        return _start_session(user)


@blp.route("/tokens")
class Tokens(MethodView):
    @blp.response(200, TokenSchema(many=True))
    def get(self):
        return services.list_tokens(user=authenticated_user())

    @blp.arguments(TokenCreateSchema)
    @blp.response(201, TokenCreatedSchema)
    def post(self, data):
        token, plain = services.create_token(user=authenticated_user(), name=data["name"])
        token.token = plain
        return token


@blp.route("/tokens/<int:token_id>")
class TokenItem(MethodView):
    @blp.response(200, TokenSchema)
    def delete(self, token_id):
        return services.revoke_token(user=authenticated_user(), token_id=token_id)
