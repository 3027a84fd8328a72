import Foundation
import Testing
@testable import OutpostAggregator

/// Which request paths the console's static routes may answer, and from which directory.
@Suite("Console static files")
struct StaticFileTreeTests {
    static func tree() throws -> (StaticFileTree, String) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("console-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root + "/js", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/dir.js", withIntermediateDirectories: true)
        try Data("<!doctype html>".utf8).write(to: URL(fileURLWithPath: root + "/index.html"))
        try Data("export {};".utf8).write(to: URL(fileURLWithPath: root + "/js/app.js"))
        try Data("secret".utf8).write(to: URL(fileURLWithPath: root + "/.env.js"))
        try Data("#!/bin/sh".utf8).write(to: URL(fileURLWithPath: root + "/run.sh"))
        return (StaticFileTree(root: root), root)
    }

    @Test("plain names inside the tree are served with their content type")
    func served() throws {
        let (tree, root) = try Self.tree()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let page = try #require(tree.read(["index.html"]))
        #expect(String(decoding: page.data, as: UTF8.self) == "<!doctype html>")
        #expect(page.contentType == "text/html; charset=utf-8")
        #expect(tree.read(["js", "app.js"])?.contentType == "text/javascript; charset=utf-8")
        #expect(tree.resolve(["dygraphs", "dygraph.min.css"])?.contentType == "text/css; charset=utf-8")
    }

    @Test("traversal, hidden files, encoded separators, directories and unknown types are refused",
          arguments: [["..", "etc", "passwd.txt"], ["js", "..", "..", "x.js"], [".env.js"], ["%2e%2e", "x.js"], ["js%2fapp.js"],
                      ["run.sh"], ["js"], ["dir.js"], ["missing.js"], [], ["js", ""], ["a b.js"], ["app.js\u{0}.html"]])
    func refused(_ components: [String]) throws {
        let (tree, root) = try Self.tree()
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(tree.read(components.map { Substring($0) }) == nil)
    }

    @Test("the console directory: configured, else the checkout of a binary built under .build, else the package's")
    func directory() throws {
        let (_, root) = try Self.tree()
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(ConsoleRoutes.directory(configured: "/srv/console", executable: "/anything") == "/srv/console")
        let checkout = FileManager.default.temporaryDirectory.appendingPathComponent("checkout-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: checkout) }
        try FileManager.default.createDirectory(atPath: checkout + "/Aggregator", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: checkout + "/Aggregator/Console", withDestinationPath: root)
        #expect(ConsoleRoutes.directory(configured: nil, executable: checkout + "/.build/x86_64-unknown-linux-gnu/debug/outpost-aggregator")
            == checkout + "/Aggregator/Console")
        #expect(ConsoleRoutes.directory(configured: nil, executable: "/usr/bin/outpost-aggregator") == ConsoleRoutes.installedDirectory)
        #expect(ConsoleRoutes.directory(configured: nil, executable: "/tmp/no-checkout/.build/debug/outpost-aggregator")
            == ConsoleRoutes.installedDirectory)
    }

    @Test("console pages may run only this origin's scripts and styles and are never framed; the API keeps its own policy")
    func policy() {
        let policy = ConsoleHeadersMiddleware.contentSecurityPolicy
        #expect(policy.contains("default-src 'none'"))
        #expect(policy.contains("script-src 'self'"))
        #expect(policy.contains("style-src 'self'"))
        #expect(policy.contains("frame-ancestors 'none'"))
        #expect(!policy.contains("unsafe"))
        #expect(SecurityHeadersMiddleware.headers.first { $0.0 == .contentSecurityPolicy }?.1 == "default-src 'none'; frame-ancestors 'none'")
    }
}
