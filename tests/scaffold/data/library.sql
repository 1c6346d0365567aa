-- A small public-library system (not ShopCo): members borrow copies of titles,
-- reserve titles that are out, and pay fines. PostgreSQL DDL, as pg_dump would
-- print it, with the types the scaffold must carry over.

CREATE TYPE loan_state AS ENUM ('open', 'returned', 'lost');

CREATE TABLE members (
    member_no   uuid PRIMARY KEY,
    full_name   varchar(120) NOT NULL,
    email       varchar(200) NOT NULL UNIQUE,
    joined_on   date NOT NULL,
    preferences jsonb,
    active      boolean NOT NULL DEFAULT true
);

CREATE TABLE titles (
    isbn        char(13) PRIMARY KEY,
    title       text NOT NULL,
    author      varchar(200) NOT NULL,
    published   smallint,
    summary     text
);
CREATE INDEX ix_titles_author ON titles (author);
CREATE INDEX ix_titles_lower_title ON titles (lower(title));

CREATE TABLE copies (
    id          bigserial PRIMARY KEY,
    isbn        char(13) NOT NULL REFERENCES titles (isbn),
    branch      varchar(40) NOT NULL,
    shelf_mark  varchar(20) NOT NULL,
    acquired_at timestamptz NOT NULL,
    CONSTRAINT uq_copies_shelf UNIQUE (branch, shelf_mark)
);

CREATE TABLE loans (
    id          bigserial PRIMARY KEY,
    copy_id     bigint NOT NULL REFERENCES copies (id),
    member_no   uuid NOT NULL REFERENCES members (member_no),
    state       varchar(10) NOT NULL,
    lent_at     timestamptz NOT NULL,
    due_on      date NOT NULL,
    returned_at timestamptz
);
CREATE INDEX ix_loans_member ON loans (member_no, lent_at);
CREATE UNIQUE INDEX ix_loans_open_copy ON loans (copy_id, returned_at);

CREATE TABLE reservations (
    member_no   uuid NOT NULL REFERENCES members (member_no),
    isbn        char(13) NOT NULL REFERENCES titles (isbn),
    placed_at   timestamp NOT NULL,
    PRIMARY KEY (member_no, isbn)
);

CREATE TABLE fines (
    id          serial PRIMARY KEY,
    loan_id     bigint NOT NULL REFERENCES loans (id),
    amount      numeric(8, 2) NOT NULL,
    paid        boolean NOT NULL DEFAULT false,
    note        text
);

CREATE TABLE branch_log (
    branch      varchar(40) NOT NULL,
    happened_at timestamptz NOT NULL,
    line        text
);
