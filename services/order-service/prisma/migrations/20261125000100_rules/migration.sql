-- Rules Prisma's schema language cannot express, enforced by the database itself.

-- The pricing snapshot is whole Rupiah and adds up.
ALTER TABLE "orders" ADD CONSTRAINT "orders_amounts_nonnegative"
  CHECK ("base_price" >= 0 AND "promo_discount" >= 0 AND "coupon_discount" >= 0 AND "final_price" >= 0);
ALTER TABLE "orders" ADD CONSTRAINT "orders_final_price_adds_up"
  CHECK ("final_price" = "base_price" - "promo_discount" - "coupon_discount");
ALTER TABLE "orders" ADD CONSTRAINT "orders_coupon_discount_has_code" CHECK ("coupon_discount" = 0 OR "coupon_code" IS NOT NULL);
ALTER TABLE "orders" ADD CONSTRAINT "orders_resources_positive" CHECK ("cpu_cores" > 0 AND "memory_mb" > 0 AND "disk_gb" > 0);
ALTER TABLE "orders" ADD CONSTRAINT "orders_currency_format" CHECK ("currency" ~ '^[A-Z]{3}$');

ALTER TABLE "order_items" ADD CONSTRAINT "order_items_quantity_positive" CHECK ("quantity" > 0);
ALTER TABLE "order_items" ADD CONSTRAINT "order_items_amounts_nonnegative" CHECK ("unit_price" >= 0);
ALTER TABLE "order_items" ADD CONSTRAINT "order_items_total_adds_up" CHECK ("total_price" = "unit_price" * "quantity");

ALTER TABLE "provisioning_tasks" ADD CONSTRAINT "provisioning_tasks_attempt_positive" CHECK ("attempt" > 0);

ALTER TABLE "status_history" ADD CONSTRAINT "status_history_is_a_change" CHECK ("from_status" IS DISTINCT FROM "to_status");

-- The documented order flow:
--   PENDING_PAYMENT -> PAID | CANCELED;  PAID -> PROVISIONING | CANCELED;  PROVISIONING -> ACTIVE | FAILED
CREATE FUNCTION "order_status_transition_allowed"("from_status" "order_status", "to_status" "order_status")
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT (from_status, to_status) IN (
    ('PENDING_PAYMENT'::order_status, 'PAID'::order_status),
    ('PENDING_PAYMENT', 'CANCELED'),
    ('PAID', 'PROVISIONING'),
    ('PAID', 'CANCELED'),
    ('PROVISIONING', 'ACTIVE'),
    ('PROVISIONING', 'FAILED'))
$$;

-- Trigger functions pin the search_path they were created with: they must find their tables and
-- helpers whatever the session's search_path is (pg_dump's SQL restores set it to '').
CREATE FUNCTION "orders_enforce_status_flow"() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  IF TG_OP = 'INSERT' AND NEW.status <> 'PENDING_PAYMENT' THEN
    RAISE EXCEPTION 'order % must be created as PENDING_PAYMENT, not %', NEW.order_number, NEW.status
      USING ERRCODE = 'check_violation', HINT = 'create the order as PENDING_PAYMENT and move it through the documented flow';
  END IF;
  IF TG_OP = 'UPDATE' AND NEW.status IS DISTINCT FROM OLD.status
     AND NOT order_status_transition_allowed(OLD.status, NEW.status) THEN
    RAISE EXCEPTION 'illegal order status transition % -> % (order %)', OLD.status, NEW.status, OLD.order_number
      USING ERRCODE = 'check_violation',
            HINT = 'allowed: PENDING_PAYMENT -> PAID|CANCELED, PAID -> PROVISIONING|CANCELED, PROVISIONING -> ACTIVE|FAILED';
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER "orders_status_flow"
  BEFORE INSERT OR UPDATE OF "status" ON "orders"
  FOR EACH ROW EXECUTE FUNCTION "orders_enforce_status_flow"();

-- Every status an order takes, from creation on, leaves one audit row (from, to, time).
CREATE FUNCTION "orders_record_status_history"() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  INSERT INTO "status_history" ("order_id", "from_status", "to_status")
  VALUES (NEW.id, CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END, NEW.status);
  RETURN NULL;
END
$$;

CREATE TRIGGER "orders_status_history_on_create"
  AFTER INSERT ON "orders"
  FOR EACH ROW EXECUTE FUNCTION "orders_record_status_history"();

CREATE TRIGGER "orders_status_history_on_change"
  AFTER UPDATE OF "status" ON "orders"
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION "orders_record_status_history"();
