"""The patient's plan: the program, its stage grading and touch settings, and a home sitting's plan."""
