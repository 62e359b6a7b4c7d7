"""GI records: suppliers claim (one per scheme), operators verify or reject; anyone who sees the product sees
its records and their status."""
from flask.views import MethodView
from flask_smorest import Blueprint

from shop.accounts.auth import authenticated_user, public
from shop.catalog import gi
from shop.catalog.routes import viewer
from shop.catalog.schemas import GiRecordSchema, GiReviewSchema

blp = Blueprint("catalog_gi", __name__, url_prefix="/api/v1",
                description="Geographical indication (地理标志) records of products: claimed and verified")


@blp.route("/products/<int:product_id>/gi-records")
class ProductGiRecords(MethodView):
    @blp.response(200, GiRecordSchema(many=True))
    @public
    def get(self, product_id):
        return gi.list_records(user=viewer(), product_id=product_id)

    @blp.arguments(GiRecordSchema)
    @blp.response(201, GiRecordSchema)
    @blp.doc(description="Claim (or restate) the product's record for a scheme. Restating the number or area of "
                         "a verified record makes it claimed again.")
    def post(self, data, product_id):
        return gi.claim(user=authenticated_user(), product_id=product_id, **data)


@blp.route("/gi-records/<int:record_id>")
class GiRecordItem(MethodView):
    @blp.response(204)
    def delete(self, record_id):
        gi.withdraw(user=authenticated_user(), record_id=record_id)


@blp.route("/gi-records/<int:record_id>/verify")
class GiRecordVerify(MethodView):
    @blp.arguments(GiReviewSchema, required=False)
    @blp.response(200, GiRecordSchema)
    @blp.doc(description="Platform operators: the record matches the registry. 409 illegal_gi_transition.")
    def post(self, data, record_id):
        return gi.review(user=authenticated_user(), record_id=record_id, action="verify", **data)


@blp.route("/gi-records/<int:record_id>/reject")
class GiRecordReject(MethodView):
    @blp.arguments(GiReviewSchema)
    @blp.response(200, GiRecordSchema)
    @blp.doc(description="Platform operators: the claim does not hold; `note` (required) tells the supplier why.")
    def post(self, data, record_id):
        return gi.review(user=authenticated_user(), record_id=record_id, action="reject", **data)
