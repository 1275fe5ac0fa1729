-- Citizens' photos of complaints (services/complaints/domain/photos.py): uploaded first, public,
-- then named by the complaint filed after them. The bytes are kept cleaned of their metadata
-- (no EXIF, XMP or text: services/runtime/photos.py). complaint_id is NULL while unclaimed; the
-- service's clock deletes an unclaimed upload an hour after it came (docs/integration.md).
CREATE TABLE complaint_photos (
    id           text PRIMARY KEY,
    complaint_id text REFERENCES complaints (id),
    content_type text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp')),
    size         integer NOT NULL,
    sha256       text NOT NULL,
    data         bytea NOT NULL,
    uploaded_at  timestamptz NOT NULL
);
CREATE INDEX complaint_photos_of ON complaint_photos (complaint_id, uploaded_at)
    WHERE complaint_id IS NOT NULL;
-- The clock's question: unclaimed uploads past their time.
CREATE INDEX complaint_photos_unclaimed ON complaint_photos (uploaded_at)
    WHERE complaint_id IS NULL;
