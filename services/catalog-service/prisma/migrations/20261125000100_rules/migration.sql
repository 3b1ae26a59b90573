-- Rules Prisma's schema language cannot express, enforced by the database itself.
-- Money is whole Rupiah; a percentage discount is 1..100.

ALTER TABLE "vps_plans" ADD CONSTRAINT "vps_plans_slug_format" CHECK ("slug" ~ '^[a-z0-9]+(-[a-z0-9]+)*$');
ALTER TABLE "vps_plans" ADD CONSTRAINT "vps_plans_resources_positive" CHECK ("cpu_cores" > 0 AND "memory_mb" > 0 AND "disk_gb" > 0);

ALTER TABLE "plan_pricings" ADD CONSTRAINT "plan_pricings_price_nonnegative" CHECK ("price" >= 0);

ALTER TABLE "plan_promos" ADD CONSTRAINT "plan_promos_discount_in_range"
  CHECK (("discount_type" = 'PERCENT' AND "discount_value" BETWEEN 1 AND 100) OR ("discount_type" = 'FIXED' AND "discount_value" > 0));
ALTER TABLE "plan_promos" ADD CONSTRAINT "plan_promos_ends_after_start" CHECK ("ends_at" > "starts_at");

ALTER TABLE "vps_images" ADD CONSTRAINT "vps_images_slug_format" CHECK ("slug" ~ '^[a-z0-9]+(-[a-z0-9]+)*$');

ALTER TABLE "coupons" ADD CONSTRAINT "coupons_code_format" CHECK ("code" ~ '^[A-Z0-9_-]+$');
ALTER TABLE "coupons" ADD CONSTRAINT "coupons_discount_in_range"
  CHECK (("discount_type" = 'PERCENT' AND "discount_value" BETWEEN 1 AND 100) OR ("discount_type" = 'FIXED' AND "discount_value" > 0));
ALTER TABLE "coupons" ADD CONSTRAINT "coupons_amounts_nonnegative"
  CHECK (coalesce("max_discount_amount", 0) >= 0 AND coalesce("min_order_amount", 0) >= 0);
ALTER TABLE "coupons" ADD CONSTRAINT "coupons_ends_after_start"
  CHECK ("starts_at" IS NULL OR "ends_at" IS NULL OR "ends_at" > "starts_at");
ALTER TABLE "coupons" ADD CONSTRAINT "coupons_redemption_limits_positive"
  CHECK (coalesce("max_redemptions", 1) > 0 AND coalesce("max_redemptions_per_user", 1) > 0);

ALTER TABLE "coupon_redemptions" ADD CONSTRAINT "coupon_redemptions_discount_nonnegative" CHECK ("discount_amount" >= 0);
