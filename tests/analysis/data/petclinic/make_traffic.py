"""Regenerate traffic.jsonl: recorded-style PetClinic traffic as an attribution log.

Endpoints and SQL are our own, modelled on Spring PetClinic; the visits endpoints follow
the visits-service API of spring-petclinic-microservices. Run from this folder:
    python make_traffic.py
"""

import json

# endpoint -> (statements it runs, how many requests of it the traffic holds)
ENDPOINTS = {
    "GET /owners": (
        [
            "SELECT DISTINCT o.id, o.first_name, o.last_name, o.address, o.city, o.telephone "
            "FROM owners o LEFT JOIN pets p ON p.owner_id = o.id WHERE o.last_name LIKE ? "
            "LIMIT ? OFFSET ?",
            "SELECT count(DISTINCT o.id) FROM owners o WHERE o.last_name LIKE ?",
        ],
        40,
    ),
    "GET /owners/<int:ownerId>": (
        [
            "SELECT o.id, o.first_name, o.last_name, o.address, o.city, o.telephone, p.id, "
            "p.name, p.birth_date, t.id, t.name FROM owners o LEFT JOIN pets p ON "
            "p.owner_id = o.id LEFT JOIN types t ON t.id = p.type_id WHERE o.id = ?"
        ],
        60,
    ),
    "GET /owners/new": ([], 5),
    "POST /owners/new": (
        [
            "INSERT INTO owners (first_name, last_name, address, city, telephone) "
            "VALUES (?, ?, ?, ?, ?)"
        ],
        5,
    ),
    "GET /owners/<int:ownerId>/edit": (
        [
            "SELECT o.id, o.first_name, o.last_name, o.address, o.city, o.telephone "
            "FROM owners o WHERE o.id = ?"
        ],
        6,
    ),
    "POST /owners/<int:ownerId>/edit": (
        [
            "SELECT o.id, o.first_name, o.last_name FROM owners o WHERE o.id = ?",
            "UPDATE owners SET first_name = ?, last_name = ?, address = ?, city = ?, "
            "telephone = ? WHERE id = ?",
        ],
        6,
    ),
    "GET /owners/<int:ownerId>/pets/new": (
        [
            "SELECT o.id, o.first_name, o.last_name FROM owners o WHERE o.id = ?",
            "SELECT t.id, t.name FROM types t ORDER BY t.name",
        ],
        8,
    ),
    "POST /owners/<int:ownerId>/pets/new": (
        [
            "SELECT o.id, o.first_name, o.last_name FROM owners o WHERE o.id = ?",
            "SELECT t.id, t.name FROM types t ORDER BY t.name",
            "INSERT INTO pets (name, birth_date, type_id, owner_id) VALUES (?, ?, ?, ?)",
        ],
        8,
    ),
    "GET /owners/<int:ownerId>/pets/<int:petId>/edit": (
        [
            "SELECT p.id, p.name, p.birth_date, p.type_id, p.owner_id FROM pets p WHERE p.id = ?",
            "SELECT t.id, t.name FROM types t ORDER BY t.name",
        ],
        4,
    ),
    "POST /owners/<int:ownerId>/pets/<int:petId>/edit": (
        [
            "SELECT t.id, t.name FROM types t ORDER BY t.name",
            "UPDATE pets SET name = ?, birth_date = ?, type_id = ?, owner_id = ? WHERE id = ?",
        ],
        4,
    ),
    "GET /owners/*/pets/<int:petId>/visits": (
        [
            "SELECT v.id, v.pet_id, v.visit_date, v.description FROM visits v "
            "WHERE v.pet_id = ? ORDER BY v.visit_date"
        ],
        50,
    ),
    "GET /pets/visits": (
        [
            "SELECT v.id, v.pet_id, v.visit_date, v.description FROM visits v "
            "WHERE v.pet_id IN (?, ?, ?)"
        ],
        30,
    ),
    "POST /owners/*/pets/<int:petId>/visits": (
        ["INSERT INTO visits (pet_id, visit_date, description) VALUES (?, ?, ?)"],
        12,
    ),
    "GET /vets": (
        [
            "SELECT v.id, v.first_name, v.last_name, s.id, s.name FROM vets v LEFT JOIN "
            "vet_specialties vs ON vs.vet_id = v.id LEFT JOIN specialties s ON "
            "s.id = vs.specialty_id ORDER BY v.last_name, v.first_name"
        ],
        25,
    ),
    "GET /vets.json": (
        [
            "SELECT v.id, v.first_name, v.last_name, s.id, s.name FROM vets v LEFT JOIN "
            "vet_specialties vs ON vs.vet_id = v.id LEFT JOIN specialties s ON "
            "s.id = vs.specialty_id"
        ],
        10,
    ),
    "cli seed": (
        [
            "INSERT INTO vets (first_name, last_name) VALUES (?, ?)",
            "INSERT INTO specialties (name) VALUES (?)",
            "INSERT INTO vet_specialties (vet_id, specialty_id) VALUES (?, ?)",
            "INSERT INTO types (name) VALUES (?)",
        ],
        1,
    ),
}


def main() -> None:
    rounds = max(count for _, count in ENDPOINTS.values())
    n = 0
    with open("traffic.jsonl", "w") as fh:
        for round_ in range(rounds):
            for endpoint, (statements, count) in ENDPOINTS.items():
                if round_ >= count:
                    continue
                for sql in statements:
                    n += 1
                    ts = f"2026-11-26T10:{n // 60 % 60:02d}:{n % 60:02d}Z"
                    record = {"ts": ts, "endpoint": endpoint, "sql": sql, "duration_ms": 0.4}
                    fh.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
