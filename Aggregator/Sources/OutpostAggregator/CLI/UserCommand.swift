import ArgumentParser
import Foundation
import Logging
import OutpostSupport

extension AggregatorCommand {
    /// `outpost-aggregator user …`: admin API users, managed on the server itself.
    struct User: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "user", abstract: "Manage admin API users.", subcommands: [Create.self])
    }
}

extension AggregatorCommand.User {
    /// `user create --username NAME --role admin`: how the first admin comes to exist (there
    /// are no default credentials). Same code path as `POST /api/v1/users`, audited as `cli`.
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a user. The password is read from standard input, or generated and printed once.")

        @Option(help: "Configuration file.")
        var config: String = AggregatorConfiguration.defaultPath

        @Option(help: "Login name: [a-z0-9][a-z0-9._-]{0,62}.")
        var username: String

        @Option(help: "admin, operator or viewer.")
        var role: String

        @Flag(help: "Read the password from the first line of standard input instead of generating one.")
        var passwordStdin = false

        func validate() throws {
            guard Role(rawValue: role) != nil else { throw ValidationError("--role must be admin, operator or viewer") }
            guard UsersStore.isValidUsername(username) else { throw ValidationError("--username must match [a-z0-9][a-z0-9._-]{0,62}") }
        }

        func run() async throws {
            let configuration = try ConfigLoader().load(AggregatorConfiguration.self, path: config)
            configuration.logging.bootstrap()
            let logger = Logger(label: "aggregator.user")
            let password: String
            if passwordStdin {
                guard let line = readLine(strippingNewline: true) else { throw ValidationError("no password on standard input") }
                password = line
            } else {
                password = SecretToken.generate(bytes: 18)
            }
            if let problem = UsersStore.passwordProblem(password) { throw ValidationError(problem) }
            let database = try Database(settings: configuration.postgres, logger: logger)
            let account = ProcessInfo.processInfo.environment["SUDO_USER"] ?? ProcessInfo.processInfo.environment["USER"] ?? "root"
            let user = try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await database.client.run() }
                defer { group.cancelAll() }
                let store = UsersStore(client: database.client, logger: logger, bcryptCost: UInt8(configuration.api.bcryptCost))
                return try await store.create(username: username, password: password, role: Role(rawValue: role)!,
                                              origin: .cli(account: account), audit: AuditLog(client: database.client, logger: logger))
            }
            print("created \(user.role.rawValue) user \(user.username) (\(user.id))")
            if !passwordStdin { print("password (shown once): \(password)") }
        }
    }
}
