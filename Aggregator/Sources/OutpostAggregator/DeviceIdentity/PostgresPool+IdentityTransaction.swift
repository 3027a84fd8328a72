import Logging
import PostgresNIO

extension PostgresPool {
    /// `withTransaction`, with an ``IdentityError`` thrown inside surfacing as itself
    /// (postgres-nio wraps closure errors in `PostgresTransactionError`).
    func identityTransaction<T: Sendable>(logger: Logger, _ body: @escaping @Sendable (PostgresConnection) async throws -> T)
        async throws -> T
    {
        do {
            return try await withTransaction(logger: logger, body)
        } catch let error as PostgresTransactionError {
            if let refusal = error.closureError as? IdentityError { throw refusal }
            throw error
        }
    }
}
