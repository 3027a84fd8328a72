-- The certificate a device actually connects with, as its agent reports it in `state`
-- (`certSerial`, `certNotAfter`): lower-case hex serial and expiry. NULL until an agent that
-- reports it has sent a state message. Not a foreign key: the agent's word is shown as it is,
-- and the API sets it beside the certificates the centre issued.
ALTER TABLE devices ADD COLUMN cert_serial text CHECK (cert_serial ~ '^[0-9a-f]{1,64}$');
ALTER TABLE devices ADD COLUMN cert_not_after timestamptz;
