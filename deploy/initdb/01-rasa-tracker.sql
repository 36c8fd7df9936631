-- Rasa's tracker store gets its own database: its table names (events, ...) are its own.
CREATE DATABASE rasa;
