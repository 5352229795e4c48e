"""In-memory adapters: fakes of the ports for unit tests and a single-process development mode."""

from adapters.memory.metadata import InMemoryMetadata, InMemoryUnitOfWork, InMemoryUnitOfWorkFactory

__all__ = ["InMemoryMetadata", "InMemoryUnitOfWork", "InMemoryUnitOfWorkFactory"]
