-- Rules Prisma's schema language cannot express, enforced by the database itself.

ALTER TABLE "invoices" ADD CONSTRAINT "invoices_amount_nonnegative" CHECK ("amount" >= 0);
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_currency_format" CHECK ("currency" ~ '^[A-Z]{3}$');
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_paid_at_iff_paid" CHECK (("status" = 'PAID') = ("paid_at" IS NOT NULL));

ALTER TABLE "payments" ADD CONSTRAINT "payments_amounts_nonnegative" CHECK ("amount" >= 0 AND "fee" >= 0);
ALTER TABLE "payments" ADD CONSTRAINT "payments_paid_has_paid_at" CHECK ("status" <> 'PAID' OR "paid_at" IS NOT NULL);

-- The documented invoice flow: PENDING -> PAID | EXPIRED | CANCELLED; those three are final.
CREATE FUNCTION "invoices_enforce_status_flow"() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  IF TG_OP = 'INSERT' AND NEW.status <> 'PENDING' THEN
    RAISE EXCEPTION 'invoice % must be created as PENDING, not %', NEW.invoice_number, NEW.status
      USING ERRCODE = 'check_violation', HINT = 'create the invoice as PENDING, then mark it PAID, EXPIRED or CANCELLED';
  END IF;
  IF TG_OP = 'UPDATE' AND NEW.status IS DISTINCT FROM OLD.status AND OLD.status <> 'PENDING' THEN
    RAISE EXCEPTION 'illegal invoice status transition % -> % (invoice %): % is final', OLD.status, NEW.status, OLD.invoice_number, OLD.status
      USING ERRCODE = 'check_violation', HINT = 'allowed: PENDING -> PAID|EXPIRED|CANCELLED';
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER "invoices_status_flow"
  BEFORE INSERT OR UPDATE OF "status" ON "invoices"
  FOR EACH ROW EXECUTE FUNCTION "invoices_enforce_status_flow"();
