-- A database's free-text notes, given at creation (`notes`; PlanetScale's clients send it
-- and read it back, though the OpenAPI document lists it nowhere).

ALTER TABLE databases ADD COLUMN notes TEXT NOT NULL DEFAULT '';
