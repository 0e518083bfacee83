"""Readers for the files attendance arrives in. They read and explain; they never write."""
