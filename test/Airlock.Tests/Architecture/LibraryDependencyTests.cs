using System.Reflection;

namespace Airlock.Tests.Architecture;

/// <summary>
/// "Library first (Core/Protocols/Inspection have no ASP.NET), thin hosts" (issue 3, deliverable 1: <c>Airlock.Inspection</c>
/// is used by the gateway and the CLI): the libraries reference no ASP.NET Core assembly, so the CLI, the hook and other hosts
/// can use them without the web stack. Checked on the compiled assemblies, transitively through Airlock's own.
/// </summary>
public sealed class LibraryDependencyTests
{
    [Theory]
    [InlineData("Airlock.Core")]
    [InlineData("Airlock.Protocols")]
    [InlineData("Airlock.Inspection")]
    public void A_library_reaches_no_asp_net_core_assembly(string library)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Queue<AssemblyName>([new AssemblyName(library)]);
        var aspNet = new List<string>();
        while (pending.TryDequeue(out var name))
        {
            if (!seen.Add(name.Name!))
            {
                continue;
            }
            if (name.Name!.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal))
            {
                aspNet.Add(name.Name);
                continue;
            }
            // Follow Airlock's own assemblies; a third-party package is judged by its name alone.
            if (name.Name == library || name.Name.StartsWith("Airlock.", StringComparison.Ordinal))
            {
                foreach (var reference in Assembly.Load(name).GetReferencedAssemblies())
                {
                    pending.Enqueue(reference);
                }
            }
        }

        Assert.Contains(library, seen);
        Assert.Empty(aspNet);
    }
}
