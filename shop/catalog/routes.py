"""Catalog HTTP: the public catalog (anyone) and product/SKU/stock management (members of the supplier)."""
from flask import jsonify
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from shop.accounts.auth import authenticated_user, public
from shop.catalog import queries, services
from shop.catalog.schemas import (CategorySchema, ProductCreateSchema, ProductDetailSchema, ProductPageSchema,
                                  ProductQueryArgsSchema, ProductSchema, ProductUpdateSchema, SkuCreateSchema,
                                  SkuDetailSchema, SkuUpdateSchema, StockAdjustmentCreateSchema,
                                  StockMovementPageSchema, SupplierProductPageSchema, SupplierProductQueryArgsSchema)
from shop.pagination import PageArgsSchema

blp = Blueprint("catalog", __name__, url_prefix="/api/v1",
                description="Categories, products, SKUs and stock")


def viewer():
    """The signed-in user or None: public endpoints show members their own unpublished products too."""
    return current_user._get_current_object() if current_user.is_authenticated else None


@blp.route("/categories")
class Categories(MethodView):
    @blp.response(200, CategorySchema(many=True))
    @public
    def get(self):
        return queries.list_categories()


@blp.route("/products")
class Products(MethodView):
    @blp.arguments(ProductQueryArgsSchema, location="query")
    @blp.response(200, ProductPageSchema)
    @public
    def get(self, args):
        # Already in ProductPageSchema's dumped shape (catalog.cards; tests compare the two): no second dump.
        return jsonify(queries.list_public_products(**args))

    @blp.arguments(ProductCreateSchema)
    @blp.response(201, ProductSchema)
    def post(self, data):
        return services.create_product(user=authenticated_user(), **data)


@blp.route("/products/<int:product_id>")
class ProductItem(MethodView):
    @blp.response(200, ProductDetailSchema)
    @public
    def get(self, product_id):
        # Already in ProductDetailSchema's dumped shape (catalog.cards; tests compare the two): no second dump.
        return jsonify(queries.product_page(product_id=product_id, user=viewer()))

    @blp.arguments(ProductUpdateSchema, required=False)  # every field optional: an empty PATCH changes nothing
    @blp.response(200, ProductSchema)
    def patch(self, changes, product_id):
        return services.update_product(user=authenticated_user(), product_id=product_id, changes=changes)


@blp.route("/products/<int:product_id>/publish")
class ProductPublish(MethodView):
    @blp.response(200, ProductSchema)
    def post(self, product_id):
        return services.publish_product(user=authenticated_user(), product_id=product_id)


@blp.route("/products/<int:product_id>/archive")
class ProductArchive(MethodView):
    @blp.response(200, ProductSchema)
    def post(self, product_id):
        return services.archive_product(user=authenticated_user(), product_id=product_id)


@blp.route("/products/<int:product_id>/skus")
class ProductSkus(MethodView):
    @blp.arguments(SkuCreateSchema)
    @blp.response(201, SkuDetailSchema)
    def post(self, data, product_id):
        return services.add_sku(user=authenticated_user(), product_id=product_id, **data)


@blp.route("/suppliers/<int:supplier_id>/products")
class SupplierProducts(MethodView):
    @blp.arguments(SupplierProductQueryArgsSchema, location="query")
    @blp.response(200, SupplierProductPageSchema)
    def get(self, args, supplier_id):
        return queries.list_supplier_products(user=authenticated_user(), supplier_id=supplier_id, **args)


@blp.route("/skus/<int:sku_id>")
class SkuItem(MethodView):
    @blp.response(200, SkuDetailSchema)
    @public
    def get(self, sku_id):
        return queries.get_sku(sku_id=sku_id, user=viewer())

    @blp.arguments(SkuUpdateSchema, required=False)  # every field optional: an empty PATCH changes nothing
    @blp.response(200, SkuDetailSchema)
    def patch(self, changes, sku_id):
        return services.update_sku(user=authenticated_user(), sku_id=sku_id, changes=changes)


@blp.route("/skus/<int:sku_id>/stock-adjustments")
class SkuStockAdjustments(MethodView):
    @blp.arguments(StockAdjustmentCreateSchema)
    @blp.response(201, SkuDetailSchema)
    def post(self, data, sku_id):
        return services.adjust_stock(user=authenticated_user(), sku_id=sku_id, **data)


@blp.route("/skus/<int:sku_id>/stock-movements")
class SkuStockMovements(MethodView):
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, StockMovementPageSchema)
    def get(self, args, sku_id):
        return queries.list_stock_movements(user=authenticated_user(), sku_id=sku_id, **args)
