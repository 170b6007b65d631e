package dev.latent;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.simpleName;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.simpleNameEndingWith;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/**
 * The layering of the architecture (see docs/layout.md): core depends on nothing of ours; the
 * compute, space, index and analyse parts never reach the encoder, ONNX Runtime or the tokenizer (so the
 * GPU bundle and Spark executors can leave them out); ONNX Runtime is reached only through
 * {@code encode.onnx} and the tokenizer only from {@code encode.text}; nothing below the command line uses
 * it; library work (corpus readers, embedding jobs, maps) lives in library packages, so the command line
 * holds only commands and their helpers; and no two packages depend on each other in a cycle.
 */
@AnalyzeClasses(packages = "dev.latent", importOptions = ArchitectureTest.MainClassesOnly.class)
class ArchitectureTest {
    /**
     * The artifacts' classes without the tests: each module builds into a folder of its own under target/
     * (target/cli/test-classes), which ArchUnit's {@code DoNotIncludeTests} (target/test-classes) does not know.
     */
    static final class MainClassesOnly implements ImportOption {
        @Override
        public boolean includes(com.tngtech.archunit.core.importer.Location location) {
            return !location.contains("/test-classes/");
        }
    }

    @ArchTest
    static final ArchRule CORE_STANDS_ALONE = noClasses().that().resideInAPackage("dev.latent.core..")
            .should().dependOnClassesThat().resideInAnyPackage("dev.latent.compute..", "dev.latent.space..",
                    "dev.latent.index..", "dev.latent.analyse..", "dev.latent.encode..", "dev.latent.engine..",
                    "dev.latent.corpus..", "dev.latent.job..", "dev.latent.cli..", "dev.latent.bench..", "dev.latent")
            .because("core holds the shared value types and the vector rule");

    @ArchTest
    static final ArchRule COMPUTE_PATH_WITHOUT_ENCODER = noClasses().that()
            .resideInAnyPackage("dev.latent.core..", "dev.latent.compute..", "dev.latent.space..",
                    "dev.latent.index..", "dev.latent.analyse..", "dev.latent.corpus..")
            .should().dependOnClassesThat().resideInAnyPackage("dev.latent.encode..", "org.bytedeco.onnxruntime..",
                    "ai.djl..")
            .because("the compute path (and reading a corpus) must run without ONNX Runtime and the tokenizer on the "
                    + "class path");

    @ArchTest
    static final ArchRule LIBRARY_BELOW_THE_COMMAND_LINE = noClasses().that()
            .resideOutsideOfPackage("dev.latent.cli..")
            .should().dependOnClassesThat().resideInAPackage("dev.latent.cli..")
            .because("the command line is the outermost layer");

    @ArchTest
    static final ArchRule ENGINE_ABOVE_THE_LIBRARY = noClasses().that()
            .resideInAnyPackage("dev.latent.core..", "dev.latent.compute..", "dev.latent.space..",
                    "dev.latent.index..", "dev.latent.analyse..", "dev.latent.encode..", "dev.latent.corpus..",
                    "dev.latent.job..")
            .should().dependOnClassesThat().resideInAPackage("dev.latent.engine..")
            .because("the serving engine sits on the encoder and the index, which know nothing of it");

    @ArchTest
    static final ArchRule BACKENDS_REACHED_BY_NAME = noClasses().that().resideInAPackage("dev.latent.compute")
            .should().dependOnClassesThat().resideInAnyPackage("dev.latent.compute.java..", "dev.latent.compute.cpu..",
                    "dev.latent.compute.cuda..")
            .because("Backends opens the backends by class name, so the interface package depends on none of them");

    @ArchTest
    static final ArchRule ONNX_RUNTIME_ONLY_IN_ENCODE_ONNX = noClasses().that()
            .resideOutsideOfPackage("dev.latent.encode.onnx..")
            .should().dependOnClassesThat().resideInAPackage("org.bytedeco.onnxruntime..")
            .because("encode.onnx is the one seam to ONNX Runtime: every encoder runs its model through OnnxModel");

    @ArchTest
    static final ArchRule TOKENIZER_ONLY_IN_ENCODE_TEXT = noClasses().that()
            .resideOutsideOfPackage("dev.latent.encode.text..")
            .should().dependOnClassesThat().resideInAPackage("ai.djl..")
            .because("only the text encoder tokenises");

    @ArchTest
    static final ArchRule ENCODE_SHARED_PARTS_KNOW_NO_MODALITY = noClasses().that()
            .resideInAnyPackage("dev.latent.encode", "dev.latent.encode.onnx..")
            .should().dependOnClassesThat().resideInAnyPackage("dev.latent.encode.text..")
            .because("the manifest, the pipeline and the ONNX model serve image and tabular encoders too");

    @ArchTest
    static final ArchRule CORPUS_READS_TEXT_ONLY = classes().that().resideInAPackage("dev.latent.corpus..")
            .should().onlyDependOnClassesThat().resideInAnyPackage("dev.latent.corpus..", "dev.latent.core..", "java..",
                    "com.fasterxml.jackson.core..")
            .because("the corpus readers serve the command line, the API and Spark executors alike, which may have "
                    + "nothing but the core on their class path");

    @ArchTest
    static final ArchRule COMMAND_LINE_TYPES_STAY_INSIDE = classes().that().resideInAPackage("dev.latent.cli..")
            .and().doNotHaveSimpleName("Main")
            .should().notBePublic()
            .because("what another program may use belongs to a library package (corpus, job, analyse.map, ...); "
                    + "the command line exports only Main");

    @ArchTest
    static final ArchRule COMMANDS_DO_NOT_CALL_EACH_OTHER = noClasses().that().resideInAPackage("dev.latent.cli..")
            .and().haveSimpleNameEndingWith("Command")
            .should().dependOnClassesThat(resideInAPackage("dev.latent.cli..").and(simpleNameEndingWith("Command"))
                    .and(not(simpleName("ModelCommand"))))
            .because("work two commands share is library work: it goes into a library package that both call "
                    + "(ModelCommand is the base of the commands that run a model)");

    @ArchTest
    static final ArchRule NO_COMMAND_LINE_PARSING_IN_THE_LIBRARY = noClasses().that()
            .resideOutsideOfPackages("dev.latent.cli..", "dev.latent.bench..")
            .should().dependOnClassesThat().resideInAnyPackage("picocli..", "me.tongfei.progressbar..")
            .because("library code reports problems as exceptions and progress through callbacks; options and "
                    + "terminal bars belong to the programs (the command line and the benchmarks)");

    @ArchTest
    static final ArchRule NO_CYCLES = slices().matching("dev.latent.(**)").should().beFreeOfCycles();

    // Public only because Java packages have no friends: the backends' shared host matrix and the two native
    // bindings are compute's internals, whatever their modifiers say.
    @ArchTest
    static final ArchRule BACKEND_INTERNALS_STAY_IN_COMPUTE = noClasses().that()
            .resideOutsideOfPackage("dev.latent.compute..")
            .should().dependOnClassesThat().haveFullyQualifiedName("dev.latent.compute.HostMatrix")
            .orShould().dependOnClassesThat().haveFullyQualifiedName("dev.latent.compute.cpu.CpuNative")
            .orShould().dependOnClassesThat().haveFullyQualifiedName("dev.latent.compute.cuda.CudaNative")
            .because("HostMatrix and the JavaCPP bindings are the backends' internals: callers go through Backend "
                    + "and ResidentMatrix, which check arguments and own the native memory");
}
