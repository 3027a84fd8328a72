import CDynamicLoad
import Glibc
import Testing

/// `outpost_dynamic_load`, which the libcurl and libsrtp2 shims open their tables with.
@Suite("Dynamic loading")
struct DynamicLoadTests {
    /// The table, or the name `*missing` gives, read while the strings it may point at live.
    static func load(_ library: String, _ symbols: [String]) -> (table: UnsafeMutableRawPointer?, missing: String?) {
        let names = symbols.map { strdup($0) }
        defer { names.forEach { free($0) } }
        return library.withCString { library in
            var missing: UnsafePointer<CChar>?
            let table = names.map { UnsafePointer($0) }.withUnsafeBufferPointer { buffer in
                outpost_dynamic_load(library, buffer.baseAddress, buffer.count, &missing)
            }
            return (table, missing.map { String(cString: $0) })
        }
    }

    /// Whether `library` is loaded in this process (without loading it).
    static func isLoaded(_ library: String) -> Bool {
        guard let handle = dlopen(library, RTLD_NOW | RTLD_NOLOAD) else { return false }
        dlclose(handle)
        return true
    }

    @Test("every function found: a table of their addresses in the order asked, nothing missing")
    func resolved() throws {
        let (table, missing) = Self.load("libc.so.6", ["strlen", "getpid"])
        let slots = try #require(table).assumingMemoryBound(to: UnsafeMutableRawPointer?.self)
        #expect(missing == nil)
        let strlen = unsafeBitCast(try #require(slots[0]), to: (@convention(c) (UnsafePointer<CChar>) -> Int).self)
        #expect(strlen("outpost") == 7)
        let getpid = unsafeBitCast(try #require(slots[1]), to: (@convention(c) () -> Int32).self)
        #expect(getpid() == Glibc.getpid())
    }

    @Test("a missing function is named, not the library and not \"out of memory\"")
    func missingSymbol() {
        let (table, missing) = Self.load("libc.so.6", ["strlen", "outpost_no_such_function", "getpid"])
        #expect(table == nil)
        #expect(missing == "outpost_no_such_function")
    }

    @Test("a missing library is named")
    func missingLibrary() {
        let (table, missing) = Self.load("liboutpost-absent.so.9", ["strlen"])
        #expect(table == nil)
        #expect(missing == "liboutpost-absent.so.9")
    }

    @Test("unloading closes the library and frees the table: a library found unusable is not kept open")
    func unload() throws {
        // glibc's libanl is a stub nothing else in the test process opens.
        #expect(!Self.isLoaded("libanl.so.1"))
        let table = try #require(Self.load("libanl.so.1", []).table)
        #expect(Self.isLoaded("libanl.so.1"))
        outpost_dynamic_unload(table, 0)
        #expect(!Self.isLoaded("libanl.so.1"))
    }
}
