"""What a session yields: task records, movement measures, scores, practice dose and questionnaires."""
