"""The knowledge base: topic notes, the question bank, the user's own material and hybrid search.

Nothing heavy is imported here, so ``import mltutor.knowledge`` stays cheap; open the knowledge base
with :func:`mltutor.knowledge.base.open_knowledge_base`.
"""
